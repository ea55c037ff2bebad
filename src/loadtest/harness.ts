// runLoadTest: capacity, then one phase (or two with `compare`: throttling on, then off) of the
// same open-loop schedule, each preceded by an idle period that measures the idle canary p99.
//
// Order of a run:
//   1. capacity: given in the options, or measured closed-loop with throttling off (the raw
//      capacity of the service, not of the throttle);
//   2. for each phase: set throttling; after the first phase, a cooldown without load so queues
//      drain; `idleMs` of samples without load; the schedule; the drain;
//   3. the target checks.
// The target is sampled about once a second from the idle period to the end of each phase. The
// progress display is refreshed every 250 ms (a TTY) or once a second (plain lines).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidOption } from '../errors.js';
import { measureCapacity, type CapacityOptions } from './capacity.js';
import { checkTargets } from './checks.js';
import { OpenLoopDriver } from './driver.js';
import { buildPhaseResult } from './phase.js';
import { Progress, describeLive, type ProgressStream } from './progress.js';
import { Sampler } from './sampler.js';
import { buildSchedule, scheduleDurationMs, type ScheduleOptions } from './schedule.js';
import type { CapacityResult, LoadTarget, LoadTestResult, PhaseResult, ScheduleStep } from './types.js';

/** Options of `runLoadTest`; a bad one rejects it with HORDE_INVALID_OPTION naming the option, before any load. */
export interface LoadTestOptions {
  /** Completed requests per second to build the schedule on. Default: measured (`capacityRun`). */
  capacity?: number;
  /** The closed-loop run that measures capacity when `capacity` is not given (throttling off). Default 32 in flight for 3,000 ms. */
  capacityRun?: CapacityOptions;
  /** The steps of each phase. Default: 8 steps of 5,000 ms from 0.1x to 5x capacity. */
  schedule?: ScheduleOptions;
  /** Run the schedule with throttling on, then off, and report both. Default false. */
  compare?: boolean;
  /** Throttling of the single run (ignored with `compare`). Default true. */
  throttling?: boolean;
  /** Requests outstanding at most; a request due past it is not sent and counts as failed. Default 10,000. */
  maxOutstanding?: number;
  /** Wait for outstanding requests after a phase's last send, in ms. Default 10,000. */
  drainTimeoutMs?: number;
  /** Sampling without load before each phase (the idle canary p99), in ms. Default 2000. */
  idleMs?: number;
  /** Pause without load between two phases, in ms. Default 3000. */
  cooldownMs?: number;
  /** Time between two samples of the target, in ms. Default 1000. */
  sampleIntervalMs?: number;
  /** Where the progress display goes; false for none. Default process.stderr. */
  progress?: ProgressStream | false;
}

interface Resolved {
  capacity: number | undefined;
  capacityRun: Required<CapacityOptions>;
  schedule: ScheduleOptions;
  compare: boolean;
  throttling: boolean;
  maxOutstanding: number;
  drainTimeoutMs: number;
  idleMs: number;
  cooldownMs: number;
  sampleIntervalMs: number;
  progress: ProgressStream | false;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= min && v <= max)) invalidOption(name, `an integer from ${min} to ${max}`, v);
  return v;
}

function resolveOptions(options: LoadTestOptions): Resolved {
  if (options.capacity !== undefined && !(Number.isFinite(options.capacity) && options.capacity > 0)) {
    invalidOption('capacity', 'a positive number', options.capacity);
  }
  return {
    capacity: options.capacity,
    capacityRun: {
      concurrency: integer('capacityRun.concurrency', options.capacityRun?.concurrency, 32, 1, 100_000),
      durationMs: integer('capacityRun.durationMs', options.capacityRun?.durationMs, 3000, 100, 600_000),
    },
    schedule: options.schedule ?? {},
    compare: options.compare ?? false,
    throttling: options.throttling ?? true,
    maxOutstanding: integer('maxOutstanding', options.maxOutstanding, 10_000, 1, 10_000_000),
    drainTimeoutMs: integer('drainTimeoutMs', options.drainTimeoutMs, 10_000, 0, 600_000),
    idleMs: integer('idleMs', options.idleMs, 2000, 0, 600_000),
    cooldownMs: integer('cooldownMs', options.cooldownMs, 3000, 0, 600_000),
    sampleIntervalMs: integer('sampleIntervalMs', options.sampleIntervalMs, 1000, 10, 60_000),
    progress: options.progress ?? process.stderr,
  };
}

/** Runs the load test against `target` and returns every figure (write it with the report writers). */
export async function runLoadTest(options: LoadTestOptions, target: LoadTarget): Promise<LoadTestResult> {
  const resolved = resolveOptions(options);
  // Validate the schedule before spending time on the capacity run.
  buildSchedule(1, resolved.schedule);
  const startedAt = new Date().toISOString();
  const throttlings = resolved.compare ? [true, false] : [resolved.throttling];
  const scheduleMs = scheduleDurationMs(buildSchedule(1, resolved.schedule));
  const capacityMs = resolved.capacity === undefined ? resolved.capacityRun.durationMs : 0;
  const cooldowns = throttlings.length - 1 + (capacityMs > 0 ? 1 : 0);
  const totalMs = capacityMs + throttlings.length * (resolved.idleMs + scheduleMs) + cooldowns * resolved.cooldownMs;
  const progress = resolved.progress === false ? null : new Progress(resolved.progress, totalMs);
  const runStart = performance.now();
  const elapsed = (): number => performance.now() - runStart;

  let capacity: CapacityResult;
  if (resolved.capacity === undefined) {
    progress?.note(`measuring capacity (closed loop, ${resolved.capacityRun.concurrency} in flight, ${resolved.capacityRun.durationMs} ms, throttling off)`);
    await target.setThrottling(false);
    const ticker = setInterval(() => progress?.update(elapsed(), 'capacity run'), 250);
    try {
      capacity = await measureCapacity(target, resolved.capacityRun);
    } finally {
      clearInterval(ticker);
    }
    progress?.note(`capacity ${capacity.rate.toFixed(0)} completed/s`);
  } else {
    capacity = { rate: resolved.capacity, measured: false, concurrency: 0, durationMs: 0, completed: 0, shed: 0, failed: 0 };
  }
  const schedule = buildSchedule(capacity.rate, resolved.schedule);

  const phases: PhaseResult[] = [];
  try {
    for (const [index, throttling] of throttlings.entries()) {
      const name = throttling ? 'throttling on' : 'throttling off';
      await target.setThrottling(throttling);
      // A cooldown before every phase that follows load (the capacity run included), so each
      // phase's idle canary figure describes an idle node, not the tail of the load before it.
      if ((index > 0 || capacity.measured) && resolved.cooldownMs > 0) {
        progress?.note(`cooldown ${resolved.cooldownMs} ms`);
        await sleep(resolved.cooldownMs);
      }
      phases.push(await runPhase(name, throttling, target, schedule, resolved, progress, elapsed));
    }
  } finally {
    progress?.finish();
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    compare: resolved.compare,
    capacity,
    schedule,
    phases,
    checks: checkTargets(capacity, phases),
  };
}

async function runPhase(
  name: string,
  throttling: boolean,
  target: LoadTarget,
  schedule: readonly ScheduleStep[],
  options: Resolved,
  progress: Progress | null,
  elapsed: () => number,
): Promise<PhaseResult> {
  progress?.note(`${name}: ${options.idleMs} ms idle, then ${schedule.length} steps`);
  const sampler = new Sampler(target, options.sampleIntervalMs);
  let driver: OpenLoopDriver | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const idleFrom = performance.now();
    await sleep(options.idleMs);
    const idleSamples = sampler.between(idleFrom, performance.now());
    driver = new OpenLoopDriver(target, schedule, { maxOutstanding: options.maxOutstanding, drainTimeoutMs: options.drainTimeoutMs });
    const running = driver;
    ticker = setInterval(
      () => {
        const stats = running.stats();
        const step = schedule[stats.stepIndex] as ScheduleStep;
        progress?.update(elapsed(), describeLive(name, step.multiple, step.rate, stats));
      },
      options.progress !== false && options.progress.isTTY === true ? 250 : 1000,
    );
    const outcome = await driver.done;
    clearInterval(ticker);
    ticker = undefined;
    await sampler.stop();
    return buildPhaseResult({
      name,
      throttling,
      steps: schedule,
      outcome,
      idleSamples,
      samples: sampler.between(outcome.startedAt, Infinity),
      sampler: sampler.counts,
      lateOutcomes: driver.lateOutcomes,
    });
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await sampler.stop();
  }
}
