/**
 * The piscina task behind `ctx.compute(task, input)`: loads the node's compute modules (once per
 * pool thread, after the preload modules) and runs the named task. A compute module exports
 * `tasks`, an object of functions (sync or async) from input to result. The outcome travels as a
 * plain record so the error's code survives the thread boundary.
 */

import { ErrorCode, HordeError, errorToWire, type WireError } from '../errors.js';

export interface ComputeJob {
  modules: string[];
  preload: string[];
  task: string;
  input: unknown;
}

export type ComputeOutcome = { ok: true; value: unknown } | { ok: false; error: WireError };

type Task = (input: unknown) => unknown;

let loaded: Promise<Map<string, Task>> | undefined;

async function loadTasks(job: ComputeJob): Promise<Map<string, Task>> {
  for (const specifier of job.preload) await import(specifier);
  const tasks = new Map<string, Task>();
  for (const specifier of job.modules) {
    const module = (await import(specifier)) as { tasks?: Record<string, unknown> };
    for (const [name, task] of Object.entries(module.tasks ?? {})) {
      if (typeof task === 'function') tasks.set(name, task as Task);
    }
  }
  return tasks;
}

export default async function runComputeTask(job: ComputeJob): Promise<ComputeOutcome> {
  try {
    loaded ??= loadTasks(job);
    const task = (await loaded).get(job.task);
    if (task === undefined) throw new HordeError(ErrorCode.UNKNOWN_TASK, `no compute task "${job.task}" in the node's compute modules`);
    return { ok: true, value: await task(job.input) };
  } catch (error) {
    return { ok: false, error: errorToWire(error) };
  }
}
