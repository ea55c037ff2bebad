/**
 * `ctx.compute` in a simulation: the tasks a compute module exports (`tasks`) run in the
 * simulator's own thread, answered as the file worker's compute pool answers them (the value, or
 * the error with its code; HORDE_UNKNOWN_TASK for a name no task has). A task runs when its
 * request is served and costs no simulated time; its answer joins the channel back once its
 * promise settles. Tasks must be deterministic (no clock, randomness or I/O) for a seed to replay.
 */

import { ErrorCode, HordeError, errorToWire } from '../../errors.js';
import type { IoReply, IoRequest } from '../../process/io.js';

/** What a compute module exports as `tasks`: functions (sync or async) from input to result. */
export type ComputeTasks = Readonly<Record<string, (input: unknown) => unknown>>;

/** An io handler that runs `compute` requests from `tasks` and hands every other request to `other`. */
export function simCompute(tasks: ComputeTasks, other: (request: IoRequest) => IoReply | Promise<IoReply>): (request: IoRequest) => IoReply | Promise<IoReply> {
  return (request) => {
    if (request.op !== 'compute') return other(request);
    const task = Object.hasOwn(tasks, request.task) ? tasks[request.task] : undefined;
    if (typeof task !== 'function') return failed(new HordeError(ErrorCode.UNKNOWN_TASK, `no compute task "${request.task}" in the simulation's compute tasks`));
    try {
      const value = task(request.input);
      if (!(value instanceof Promise)) return { ok: true, value };
      return value.then((settled: unknown): IoReply => ({ ok: true, value: settled }), failed);
    } catch (error) {
      return failed(error);
    }
  };
}

function failed(error: unknown): IoReply {
  return { ok: false, error: errorToWire(error) };
}
