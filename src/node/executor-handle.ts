// Starting an executor worker (a WorkerHandle with the executor's API) and reading its heartbeat.
import type { ResourceLimits } from 'node:worker_threads';
import type { WireError } from '../errors.js';
import type { Pid } from '../process/pid.js';
import type { ExitReason } from '../process/types.js';
import type { Doorbell } from '../ring/doorbell.js';
import { StatusSlot, type ExecutorApi, type ExecutorWorkerData } from '../executor/protocol.js';
import { workerEntry } from '../internal/worker-url.js';
import { WorkerHandle } from './worker-handle.js';

const ENTRY = workerEntry(import.meta.url, '../executor/worker.js');

export type ExecutorHandle = WorkerHandle<ExecutorApi>;

export interface ExecutorEvents {
  crashed(pid: Pid, kind: string, reason: ExitReason): void;
  malformed(error: WireError): void;
  /** A message over maxMessageBytes was refused at its sending process (which goes on). */
  refused(refusal: MessageRefusal): void;
  exited(code: number, error: Error | undefined): void;
}

/** The detail of a 'messageRefused' event: who sent what to whom, and why it was refused. */
export interface MessageRefusal {
  from: Pid | undefined;
  to: Pid;
  error: WireError;
}

type ExecutorMessage =
  | { type: 'crashed'; pid: Pid; kind: string; reason: ExitReason }
  | { type: 'malformed'; error: WireError }
  | ({ type: 'refused' } & MessageRefusal);

export function startExecutor(
  data: Omit<ExecutorWorkerData, 'status'>,
  bell: Doorbell,
  resourceLimits: ResourceLimits | undefined,
  events: ExecutorEvents,
): Promise<ExecutorHandle> {
  return WorkerHandle.start<ExecutorApi>({
    name: `executor ${data.shard}`,
    entry: ENTRY,
    data,
    bell,
    resourceLimits,
    onMessage: (message) => {
      const known = message as ExecutorMessage;
      if (known.type === 'crashed') events.crashed(known.pid, known.kind, known.reason);
      else if (known.type === 'malformed') events.malformed(known.error);
      else if (known.type === 'refused') events.refused({ from: known.from, to: known.to, error: known.error });
    },
    onExit: (code, error) => events.exited(code, error),
  });
}

/** [spawnerId, pids allocated as of its last pass]: one entry of a replacement's SpawnFloors. */
export function spawnerProgress(executor: ExecutorHandle): [number, number] {
  return [executor.status[StatusSlot.SPAWNER_ID]!, executor.status[StatusSlot.PIDS_ALLOCATED]!];
}

/** Turns started so far and the pid serial/kind of the running turn (-1 between turns). */
export function heartbeat(executor: ExecutorHandle): { turns: number; serial: number; kind: string | undefined } {
  const status = executor.status;
  const kindIndex = status[StatusSlot.RUNNING_KIND]!;
  const kinds = executor.ready.kinds as string[] | undefined;
  return {
    turns: status[StatusSlot.TURNS]!,
    serial: status[StatusSlot.RUNNING_SERIAL]!,
    kind: kindIndex >= 0 ? kinds?.[kindIndex] : undefined,
  };
}
