/**
 * ExecutorHandle: the main thread's grip on one executor worker: starting it, its comlink control
 * API, its status block, and how it ended.
 *
 * Control calls go over a dedicated MessageChannel. Because the executor may be parked in
 * Atomics.wait, every message posted to it is followed by a bump of CONTROL_SEQ and a ring of its
 * doorbell (see src/executor/protocol.ts); the executor then pumps its port and answers.
 */

import { wrap, type Remote } from 'comlink';
import { MessageChannel, Worker, type ResourceLimits } from 'node:worker_threads';
import { ErrorCode, HordeError, errorFromWire, type WireError } from '../errors.js';
import type { Pid } from '../process/pid.js';
import type { ExitReason } from '../process/types.js';
import type { Doorbell } from '../ring/doorbell.js';
import { STATUS_BYTES, StatusSlot, type ControlResult, type ExecutorApi, type ExecutorWorkerData } from '../executor/protocol.js';
import { notifyingEndpoint } from '../internal/control-endpoint.js';
import { workerEntry } from '../internal/worker-url.js';


const ENTRY = workerEntry(import.meta.url, '../executor/worker.js');

export interface ExecutorHandleEvents {
  crashed(pid: Pid, kind: string, reason: ExitReason): void;
  malformed(error: WireError): void;
  /** The worker ended; `error` is set when it ended by failing. */
  exited(code: number, error: Error | undefined): void;
}

type WorkerMessage =
  | { type: 'ready'; kinds: string[] }
  | { type: 'crashed'; pid: Pid; kind: string; reason: ExitReason }
  | { type: 'malformed'; error: WireError };

export class ExecutorHandle {
  readonly worker: Worker;
  readonly api: Remote<ExecutorApi>;
  readonly status: Float64Array;
  readonly exited: Promise<number>;
  kinds: string[] = [];
  private readonly control: Int32Array;

  private constructor(
    data: Omit<ExecutorWorkerData, 'status'>,
    bell: Doorbell,
    resourceLimits: ExecutorWorkerOptions['resourceLimits'],
    events: ExecutorHandleEvents,
  ) {
    const status = new SharedArrayBuffer(STATUS_BYTES);
    this.control = new Int32Array(status, 0, 2);
    this.status = new Float64Array(status);
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(ENTRY, {
      workerData: { ...data, status, controlPort: port2 },
      transferList: [port2],
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    });
    let failure: Error | undefined;
    this.worker.on('error', (error) => {
      failure = error;
    });
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'crashed') events.crashed(message.pid, message.kind, message.reason);
      else if (message.type === 'malformed') events.malformed(message.error);
      else this.kinds = message.kinds;
    });
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        port1.close();
        events.exited(code, failure);
        resolve(code);
      });
    });
    this.api = wrap<ExecutorApi>(
      notifyingEndpoint(port1, () => {
        Atomics.add(this.control, StatusSlot.CONTROL_SEQ, 1);
        bell.ring();
      }),
    );
  }

  /** Starts an executor and resolves once its modules are loaded and its loop runs. */
  static async start(
    data: Omit<ExecutorWorkerData, 'status'>,
    bell: Doorbell,
    options: ExecutorWorkerOptions,
    events: ExecutorHandleEvents,
  ): Promise<ExecutorHandle> {
    const handle = new ExecutorHandle(data, bell, options.resourceLimits, events);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: WorkerMessage): void => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onError = (error: Error): void => {
        cleanup();
        reject(new HordeError(ErrorCode.EXECUTOR_START_FAILED, `executor ${data.shard} failed to start: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new HordeError(ErrorCode.EXECUTOR_START_FAILED, `executor ${data.shard} exited with code ${code} while starting`));
      };
      const cleanup = (): void => {
        handle.worker.off('message', onMessage);
        handle.worker.off('error', onError);
        handle.worker.off('exit', onExit);
      };
      handle.worker.on('message', onMessage);
      handle.worker.on('error', onError);
      handle.worker.on('exit', onExit);
    });
    return handle;
  }

  /** Turns started so far and the pid serial/kind of the running turn (-1 between turns). */
  heartbeat(): { turns: number; serial: number; kind: string | undefined } {
    const kindIndex = this.status[StatusSlot.RUNNING_KIND]!;
    return {
      turns: this.status[StatusSlot.TURNS]!,
      serial: this.status[StatusSlot.RUNNING_SERIAL]!,
      kind: kindIndex >= 0 ? this.kinds[kindIndex] : undefined,
    };
  }

  /** Awaits a control call's result, rebuilding its error (with its code) on failure. */
  static async unwrap<T>(result: Promise<ControlResult<T>>): Promise<T> {
    const settled = await result;
    if (!settled.ok) throw errorFromWire(settled.error);
    return settled.value;
  }
}

export interface ExecutorWorkerOptions {
  resourceLimits: ResourceLimits | undefined;
}
