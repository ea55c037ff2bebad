/**
 * WorkerHandle: the main thread's grip on one of the node's worker threads (an executor, a
 * service thread): starting it, waiting for its 'ready', its comlink control API, the shared
 * status block, its other messages, how it ended, and stopping it.
 *
 * Control calls go over a dedicated MessageChannel. A worker may be parked in Atomics.wait, so
 * every message posted to it is followed by a bump of CONTROL_SEQ in its status block and a ring of
 * its doorbell (see src/executor/protocol.ts); the worker then pumps its port and answers. The
 * worker's answer may be lost when it exits right after it (the port closes): callers that stop a
 * worker wait for `exited`, not for the answer.
 */

import { wrap, type Remote } from 'comlink';
import { MessageChannel, Worker, type ResourceLimits } from 'node:worker_threads';
import { ErrorCode, HordeError, errorFromWire } from '../errors.js';
import type { Doorbell } from '../ring/doorbell.js';
import { STATUS_BYTES, StatusSlot, type ControlResult } from '../executor/protocol.js';
import { notifyingEndpoint } from '../internal/control-endpoint.js';

export interface WorkerStart {
  /** Used in error messages: "executor 1", "poller". */
  name: string;
  entry: URL;
  /** Sent as workerData, with `status` and `controlPort` added. */
  data: object;
  bell: Doorbell;
  resourceLimits?: ResourceLimits | undefined;
  /** Messages other than 'ready'. */
  onMessage?: (message: { type: string }) => void;
  /** The worker ended; `error` is set when it ended by failing. */
  onExit?: (code: number, error: Error | undefined) => void;
}

export class WorkerHandle<Api> {
  readonly worker: Worker;
  readonly api: Remote<Api>;
  /** The status block as Float64 slots (the worker writes, the main thread reads). */
  readonly status: Float64Array;
  readonly exited: Promise<number>;
  /** The worker's 'ready' message. */
  ready: Record<string, unknown> = {};
  private readonly name: string;
  /** Control calls waiting for an answer: rejected if the worker exits first. */
  private readonly pendingCalls = new Set<(error: Error) => void>();
  private exitCode: number | undefined;

  private constructor(start: WorkerStart) {
    const status = new SharedArrayBuffer(STATUS_BYTES);
    const control = new Int32Array(status, 0, 2);
    this.status = new Float64Array(status);
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(start.entry, {
      workerData: { ...start.data, status, controlPort: port2 },
      transferList: [port2],
      ...(start.resourceLimits === undefined ? {} : { resourceLimits: start.resourceLimits }),
    });
    let failure: Error | undefined;
    this.worker.on('error', (error) => {
      failure = error;
    });
    this.worker.on('message', (message: { type: string }) => {
      if (message.type === 'ready') this.ready = message;
      else start.onMessage?.(message);
    });
    this.name = start.name;
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        port1.close();
        this.exitCode = code;
        start.onExit?.(code, failure);
        for (const fail of this.pendingCalls) fail(this.exitedError());
        this.pendingCalls.clear();
        resolve(code);
      });
    });
    this.api = wrap<Api>(
      notifyingEndpoint(port1, () => {
        Atomics.add(control, StatusSlot.CONTROL_SEQ, 1);
        start.bell.ring();
      }),
    );
  }

  /** Starts a worker and resolves once it posted 'ready' (rejects if it fails or exits first). */
  static async start<Api>(start: WorkerStart): Promise<WorkerHandle<Api>> {
    const handle = new WorkerHandle<Api>(start);
    const worker = handle.worker;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string }): void => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new HordeError(ErrorCode.WORKER_START_FAILED, `${start.name} failed to start: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new HordeError(ErrorCode.WORKER_START_FAILED, `${start.name} exited with code ${code} while starting`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return handle;
  }

  /**
   * A control call that rejects with HORDE_WORKER_EXITED when the worker exits before answering
   * (its port closes and comlink would wait for ever).
   */
  call<T>(invoke: (api: Remote<Api>) => Promise<T>): Promise<T> {
    if (this.exitCode !== undefined) return Promise.reject(this.exitedError());
    return new Promise<T>((resolve, reject) => {
      this.pendingCalls.add(reject);
      invoke(this.api).then(
        (value) => {
          this.pendingCalls.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.pendingCalls.delete(reject);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /**
   * Asks the worker to stop and resolves once it exited, terminating it if it has not after
   * `graceMs`. The stop call goes straight to the API: a worker exits right after answering and
   * its answer may be lost with the closing port, so the exit is what counts; a stop call that
   * fails goes to `onError`.
   */
  async shutDown(stop: (api: Remote<Api>) => Promise<unknown>, graceMs: number, onError: (error: unknown) => void): Promise<void> {
    stop(this.api).catch(onError);
    const grace = new Promise<'late'>((resolve) => setTimeout(resolve, graceMs, 'late').unref());
    if ((await Promise.race([this.exited, grace])) === 'late') await this.worker.terminate();
    await this.exited;
  }

  private exitedError(): HordeError {
    return new HordeError(ErrorCode.WORKER_EXITED, `${this.name} exited (code ${String(this.exitCode)}) before it answered`);
  }

  /** Whether `error` says the worker exited before it answered (see `call`). */
  static exitedFirst(error: unknown): boolean {
    return error instanceof HordeError && error.code === ErrorCode.WORKER_EXITED;
  }

  /** Awaits a control call's result, rebuilding its error (with its code) on failure. */
  static async unwrap<T>(result: Promise<ControlResult<T>>): Promise<T> {
    const settled = await result;
    if (!settled.ok) throw errorFromWire(settled.error);
    return settled.value;
  }
}
