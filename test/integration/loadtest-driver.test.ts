// The open-loop driver and the harness against real in-process targets: exact offered counts,
// the outcome identities, timing from the scheduled send time, the outstanding bound, the drain,
// the capacity run, and a whole compare run.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { measureCapacity } from '../../src/loadtest/capacity.js';
import { OpenLoopDriver } from '../../src/loadtest/driver.js';
import { runLoadTest } from '../../src/loadtest/harness.js';
import { buildSchedule } from '../../src/loadtest/schedule.js';
import { formatSummary } from '../../src/loadtest/summary.js';
import type { Counts, LoadTarget, TargetSample } from '../../src/loadtest/types.js';
import { FixtureTarget, HeldTarget } from '../fixtures/loadtest-target.js';
import { rejectsWithCode } from '../support/errors.js';

const fixtures: FixtureTarget[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.close();
});

function fixture(options: ConstructorParameters<typeof FixtureTarget>[0] = {}): FixtureTarget {
  const f = new FixtureTarget(options);
  fixtures.push(f);
  return f;
}

function sum(seconds: readonly Counts[]): Counts {
  const total: Counts = { offered: 0, notSent: 0, shed: 0, admitted: 0, completed: 0, timeouts: 0, errors: 0, unfinished: 0 };
  for (const s of seconds) for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += s[key];
  return total;
}

function expectIdentities(c: Counts): void {
  expect(c.offered).toBe(c.notSent + c.shed + c.admitted + c.unfinished);
  expect(c.admitted).toBe(c.completed + c.timeouts + c.errors);
}

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('OpenLoopDriver', () => {
  it('offers exactly the schedule, sheds only above capacity, and accounts for every request', async () => {
    const target = fixture({ concurrency: 4, costMs: 10, queueLimit: 50 }); // at most 400/s
    const steps = buildSchedule(400, { multiples: [0.25, 3], stepMs: 2000 });
    const outcome = await new OpenLoopDriver(target, steps, { maxOutstanding: 10_000, drainTimeoutMs: 10_000 }).done;
    expect(outcome.seconds).toHaveLength(4);
    expect(outcome.seconds.map((s) => s.offered)).toEqual([100, 100, 1200, 1200]);
    const low = sum(outcome.seconds.slice(0, 2));
    const high = sum(outcome.seconds.slice(2));
    for (const c of [low, high]) expectIdentities(c);
    expect(low.shed).toBe(0);
    expect(low.completed).toBe(200);
    expect(high.shed).toBeGreaterThan(0); // 1200/s into a 400/s service with a 50-deep queue
    expect(high.unfinished + high.notSent + high.errors + high.timeouts).toBe(0);
    expect(target.requests).toBe(2600);
    expect(outcome.total.count).toBe(low.completed + high.completed);
    expect(outcome.seconds[0]!.latency!.summary()!.p50Ms).toBeGreaterThanOrEqual(9); // each request costs 10 ms
  });

  it('times requests from their scheduled send time: a blocked event loop shows as latency', async () => {
    // The target answers at once; the harness's own event loop is blocked for 400 ms at 500 ms.
    // Requests due during the block go out late; measured from the schedule, they are slow.
    const instant: LoadTarget = {
      request: () => Promise.resolve('ok'),
      sample: () => Promise.resolve<TargetSample>({ gateways: [], nodes: [] }),
      setThrottling: () => Promise.resolve(),
    };
    const blocker = setTimeout(() => {
      const until = performance.now() + 400;
      while (performance.now() < until) {
        // busy: the driver cannot send
      }
    }, 500);
    const steps = buildSchedule(200, { multiples: [1], stepMs: 2000 });
    const outcome = await new OpenLoopDriver(instant, steps, { maxOutstanding: 10_000, drainTimeoutMs: 5000 }).done;
    clearTimeout(blocker);
    const latency = outcome.total.summary()!;
    expect(outcome.total.count).toBe(400);
    expect(latency.maxMs).toBeGreaterThanOrEqual(300);
    expect(latency.p50Ms).toBeLessThan(latency.maxMs);
    const lagged = outcome.seconds.map((s) => s.sendLag!.percentileMs(99));
    expect(Math.max(...lagged)).toBeGreaterThanOrEqual(300);
  });

  it('times requests a stalled target delayed from when they were due, not from when it took them', async () => {
    const target = fixture({ concurrency: 4, costMs: 2, hardLimit: 100_000 });
    await target.setThrottling(false);
    target.pause();
    const resume = setTimeout(() => target.resume(), 1000);
    const steps = buildSchedule(100, { multiples: [1], stepMs: 2000 });
    const outcome = await new OpenLoopDriver(target, steps, { maxOutstanding: 10_000, drainTimeoutMs: 10_000 }).done;
    clearTimeout(resume);
    expect(outcome.total.count).toBe(200);
    // The request due at 0 ms waited for the resume at 1000 ms.
    expect(outcome.total.summary()!.maxMs).toBeGreaterThanOrEqual(950);
    // Requests of the first second were due at 0..990 ms and all waited for the resume.
    expect(outcome.seconds[0]!.latency!.percentileMs(50)).toBeGreaterThanOrEqual(400);
  });

  it('does not send past maxOutstanding and counts the rest as not sent', async () => {
    const target = new HeldTarget();
    const steps = buildSchedule(100, { multiples: [1], stepMs: 2000 });
    const driver = new OpenLoopDriver(target, steps, { maxOutstanding: 50, drainTimeoutMs: 30_000 });
    await until(() => driver.stats().elapsedMs >= 2000 && target.holding === 50);
    // The schedule is over: every due request was either sent (50) or refused.
    target.releaseAll();
    const outcome = await driver.done;
    const total = sum(outcome.seconds);
    expect(total.offered).toBe(200);
    expect(target.calls).toBe(50);
    expect(total.notSent).toBe(150);
    expect(total.completed).toBe(50);
    expectIdentities(total);
  });

  it('closes after the drain time: requests still out are unfinished, their later outcomes late', async () => {
    const target = new HeldTarget();
    const steps = buildSchedule(20, { multiples: [1], stepMs: 1000 });
    const driver = new OpenLoopDriver(target, steps, { maxOutstanding: 1000, drainTimeoutMs: 200 });
    const outcome = await driver.done;
    const total = sum(outcome.seconds);
    expect(total).toMatchObject({ offered: 20, unfinished: 20, completed: 0 });
    expectIdentities(total);
    target.releaseAll();
    await until(() => driver.lateOutcomes === 20);
    expect(sum(outcome.seconds).completed).toBe(0);
  });

  it('counts rejections by kind: shed, timeout, error', async () => {
    let n = 0;
    const codes = [ErrorCode.OVERLOADED, ErrorCode.TIMEOUT, ErrorCode.REMOTE_ERROR, 'ok'];
    const target: LoadTarget = {
      request: () => {
        const code = codes[n++ % codes.length]!;
        if (code === 'ok') return Promise.resolve(1);
        if (code === ErrorCode.REMOTE_ERROR) throw new HordeError(code, 'thrown synchronously');
        return Promise.reject(new HordeError(code, 'rejected'));
      },
      sample: () => Promise.resolve({ gateways: [], nodes: [] }),
      setThrottling: () => Promise.resolve(),
    };
    const outcome = await new OpenLoopDriver(target, buildSchedule(40, { multiples: [1], stepMs: 1000 }), { maxOutstanding: 100, drainTimeoutMs: 1000 }).done;
    const total = sum(outcome.seconds);
    expect(total).toMatchObject({ offered: 40, shed: 10, timeouts: 10, errors: 10, completed: 10, admitted: 30 });
    expect(outcome.errors.codes).toEqual({ [ErrorCode.TIMEOUT]: 10, [ErrorCode.REMOTE_ERROR]: 10 });
  });
});

describe('measureCapacity', () => {
  it('finds a peak the service can actually do', async () => {
    const target = fixture({ concurrency: 4, costMs: 10 });
    const capacity = await measureCapacity(target, { concurrency: 8, durationMs: 1500 });
    expect(capacity.measured).toBe(true);
    expect(capacity.rate).toBeGreaterThan(0);
    expect(capacity.rate).toBeLessThanOrEqual(target.theoreticalCapacity);
    expect(capacity.completed).toBeGreaterThan(0);
  });

  it('fails with HORDE_LOADTEST_NO_CAPACITY when nothing completes', async () => {
    const failing: LoadTarget = {
      request: () => Promise.reject(new HordeError(ErrorCode.REMOTE_ERROR, 'service crashed')),
      sample: () => Promise.resolve({ gateways: [], nodes: [] }),
      setThrottling: () => Promise.resolve(),
    };
    const error = await rejectsWithCode(measureCapacity(failing, { concurrency: 2, durationMs: 200 }), ErrorCode.LOADTEST_NO_CAPACITY);
    expect(error.message).toContain('service crashed');
  });
});

describe('runLoadTest', () => {
  it('runs the schedule with throttling on and off and reports both, with progress lines', async () => {
    const target = fixture({ concurrency: 4, costMs: 10, queueLimit: 8, hardLimit: 100_000 });
    const lines: string[] = [];
    const result = await runLoadTest(
      {
        compare: true,
        capacityRun: { concurrency: 8, durationMs: 1000 },
        schedule: { multiples: [0.5, 5], stepMs: 2000 },
        idleMs: 1000,
        cooldownMs: 500,
        drainTimeoutMs: 20_000,
        progress: { write: (chunk: string) => lines.push(chunk) > 0, isTTY: false },
      },
      target,
    );
    expect(result.compare).toBe(true);
    expect(result.capacity.measured).toBe(true);
    expect(result.phases.map((p) => [p.name, p.throttling])).toEqual([
      ['throttling on', true],
      ['throttling off', false],
    ]);
    const [on, off] = result.phases;
    for (const phase of [on!, off!]) {
      expectIdentities(phase.totals);
      expect(phase.seconds).toHaveLength(4);
      expect(phase.steps).toHaveLength(2);
      expect(phase.idleCanaryP99Ms).not.toBeNull();
      expect(phase.seconds.some((s) => s.canaryP99Ms !== null && s.nodes.length === 1)).toBe(true);
      expect(phase.nodes[0]?.maxRssBytes).toBeGreaterThan(0);
    }
    // At 5x capacity the throttled service sheds; the unthrottled one queues instead.
    expect(on!.steps[1]!.shed).toBeGreaterThan(0);
    expect(on!.steps[1]!.throttledShare).toBeGreaterThan(0);
    expect(off!.totals.shed).toBe(0);
    expect(off!.latency!.p99Ms).toBeGreaterThan(on!.latency!.p99Ms);
    expect(result.checks.map((c) => [c.phase, c.pass === null])).toEqual([
      ['throttling on', false],
      ['throttling on', false],
    ]);
    const text = lines.join('');
    expect(text).toContain('measuring capacity');
    expect(text).toContain('throttling off');
    expect(text).not.toContain('\r');
    const summary = formatSummary(result);
    expect(summary).toContain('on done/s');
    expect(summary).toContain('off done/s');
    expect(summary).toMatch(/(PASS|FAIL) \[throttling on\] goodput at 5x/);
  });

  it('refuses bad options before touching the target', async () => {
    const target = new HeldTarget();
    await expect(runLoadTest({ maxOutstanding: 0 }, target)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
    await expect(runLoadTest({ schedule: { stepMs: 10 } }, target)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
    await expect(runLoadTest({ capacity: -1 }, target)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
    expect(target.calls).toBe(0);
  });
});
