// A phase's figures from the driver's buckets and the samples: steady part of each step,
// the sample in force at each second's end, idle canary, node peaks.
import { describe, expect, it } from 'vitest';
import { emptyCounts, type SecondBucket } from '../../src/loadtest/driver.js';
import { LatencyHistogram } from '../../src/loadtest/histogram.js';
import { ErrorTally } from '../../src/loadtest/outcome.js';
import { buildPhaseResult, median } from '../../src/loadtest/phase.js';
import type { TimedSample } from '../../src/loadtest/sampler.js';
import { buildSchedule } from '../../src/loadtest/schedule.js';

const START = 10_000;

function bucket(completed: number, shed: number, latencyMs: number): SecondBucket {
  const latency = new LatencyHistogram(2);
  for (let i = 0; i < completed; i++) latency.recordMs(latencyMs);
  return { ...emptyCounts(), offered: completed + shed, admitted: completed, completed, shed, latency, sendLag: null };
}

function sample(at: number, canary: number, throttled: boolean, rss = 100): TimedSample {
  return {
    at,
    sample: {
      gateways: [
        { name: 'a', throttled, canaryP99Ms: canary },
        { name: 'b', throttled: false, canaryP99Ms: canary / 2 },
      ],
      nodes: [{ name: 'n', eventLoopDelayP99Ms: canary, rssBytes: rss, heapUsedBytes: rss / 2 }],
    },
  };
}

describe('buildPhaseResult', () => {
  it('takes step figures over the seconds after the first and the sample in force at each second', () => {
    const steps = buildSchedule(10, { multiples: [1, 5], stepMs: 3000 });
    const seconds = [bucket(10, 0, 1), bucket(10, 0, 2), bucket(10, 0, 3), bucket(20, 30, 100), bucket(10, 40, 10), bucket(10, 40, 10)];
    const result = buildPhaseResult({
      name: 'throttling on',
      throttling: true,
      steps,
      outcome: { startedAt: START, seconds, total: new LatencyHistogram(3), errors: new ErrorTally() },
      idleSamples: [sample(START - 900, 3, false), sample(START - 10, 5, false, 90)],
      samples: [sample(START + 1500, 4, false), sample(START + 3200, 40, true, 300), sample(START + 4100, 8, true), sample(START + 5500, 6, false)],
      sampler: { taken: 6, skipped: 0, failed: 0, lastError: null },
      lateOutcomes: 0,
    });
    expect(result.idleCanaryP99Ms).toBe(4);
    // second 0 ends at START+1000: the idle sample 10 ms before the start is still in force.
    expect(result.seconds.map((s) => s.canaryP99Ms)).toEqual([5, 4, 4, 40, 8, 6]);
    expect(result.seconds.map((s) => s.throttledFraction)).toEqual([0, 0, 0, 0.5, 0.5, 0]);
    const [low, high] = result.steps;
    expect(low).toMatchObject({ seconds: 2, completed: 20, completedPerS: 10, shed: 0, canaryP99MedianMs: 4 });
    expect(low!.latency!.maxMs).toBeCloseTo(3, 1);
    // The first second of the 5x step (20 completed, 100 ms) is the transition and is left out.
    expect(high).toMatchObject({ seconds: 2, completed: 20, shed: 80, shedPerS: 40, canaryP99MedianMs: 7, canaryP99MaxMs: 8, throttledShare: 0.5 });
    expect(high!.latency!.maxMs).toBeCloseTo(10, 0);
    expect(result.totals).toMatchObject({ offered: 180, completed: 70, shed: 110 });
    expect(result.nodes).toEqual([{ name: 'n', maxRssBytes: 300, maxHeapUsedBytes: 150, maxEventLoopDelayP99Ms: 40 }]);
  });

  it('leaves a second without a recent sample empty', () => {
    const steps = buildSchedule(10, { multiples: [1], stepMs: 4000 });
    const seconds = [bucket(1, 0, 1), bucket(1, 0, 1), bucket(1, 0, 1), bucket(1, 0, 1)];
    const result = buildPhaseResult({
      name: 'x',
      throttling: false,
      steps,
      outcome: { startedAt: START, seconds, total: new LatencyHistogram(3), errors: new ErrorTally() },
      idleSamples: [],
      samples: [sample(START + 500, 2, false)],
      sampler: { taken: 1, skipped: 0, failed: 0, lastError: null },
      lateOutcomes: 0,
    });
    expect(result.seconds.map((s) => s.canaryP99Ms)).toEqual([2, 2, null, null]);
    expect(result.idleCanaryP99Ms).toBeNull();
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
