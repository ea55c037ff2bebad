// Turns a driver's buckets and the samples of its run into a phase's per-second and per-step figures.
import { LatencyHistogram } from './histogram.js';
import { emptyCounts, type DriverOutcome, type SecondBucket } from './driver.js';
import type { TimedSample, SamplerCounts } from './sampler.js';
import type { Counts, NodePeak, PhaseResult, ScheduleStep, SecondStats, StepStats, TargetSample } from './types.js';
import { stepAt } from './schedule.js';

export interface PhaseInput {
  name: string;
  throttling: boolean;
  steps: readonly ScheduleStep[];
  outcome: DriverOutcome;
  /** Samples taken while no load ran, just before the phase. */
  idleSamples: readonly TimedSample[];
  /** Samples taken during the phase. */
  samples: readonly TimedSample[];
  sampler: SamplerCounts;
  lateOutcomes: number;
}

const COUNT_KEYS = ['offered', 'notSent', 'shed', 'admitted', 'completed', 'timeouts', 'errors', 'unfinished'] as const;

function addCounts(into: Counts, from: Counts): void {
  for (const key of COUNT_KEYS) into[key] += from[key];
}

function countsOf(bucket: SecondBucket): Counts {
  const counts = emptyCounts();
  addCounts(counts, bucket);
  return counts;
}

/** The highest canary p99 over a sample's gateways (null without gateways). */
export function canaryOf(sample: TargetSample): number | null {
  if (sample.gateways.length === 0) return null;
  return Math.max(...sample.gateways.map((g) => g.canaryP99Ms));
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function idleCanary(samples: readonly TimedSample[]): number | null {
  const measured = median(samples.map((s) => canaryOf(s.sample)).filter((v): v is number => v !== null));
  if (measured !== null) return measured;
  const reported = samples.flatMap((s) => s.sample.gateways.map((g) => g.idleCanaryP99Ms)).filter((v): v is number => v !== undefined);
  return reported.length === 0 ? null : Math.max(...reported);
}

/** How old the sample describing a second may be at the second's end (a sample a second, with jitter). */
const SAMPLE_MAX_AGE_MS = 2000;

/** The last sample taken before `end` and not older than SAMPLE_MAX_AGE_MS (samples are in time order). */
function sampleAt(samples: readonly TimedSample[], end: number): TargetSample | undefined {
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i] as TimedSample;
    if (s.at < end) return end - s.at <= SAMPLE_MAX_AGE_MS ? s.sample : undefined;
  }
  return undefined;
}

function secondStats(input: PhaseInput): SecondStats[] {
  const { outcome, steps } = input;
  const samples = [...input.idleSamples, ...input.samples];
  return outcome.seconds.map((bucket, second) => {
    const last = sampleAt(samples, outcome.startedAt + (second + 1) * 1000);
    const gateways = last?.gateways ?? [];
    return {
      second,
      targetRate: stepAt(steps, second * 1000).step.rate,
      ...countsOf(bucket),
      latency: bucket.latency === null ? null : bucket.latency.summary(),
      sendLagP99Ms: bucket.sendLag === null ? null : bucket.sendLag.percentileMs(99),
      throttledFraction: gateways.length === 0 ? null : gateways.filter((g) => g.throttled).length / gateways.length,
      canaryP99Ms: last === undefined ? null : canaryOf(last),
      nodes: last?.nodes ?? [],
    };
  });
}

function stepStats(input: PhaseInput, perSecond: readonly SecondStats[]): StepStats[] {
  const { outcome, steps } = input;
  let firstSecond = 0;
  return steps.map((step, index) => {
    const length = step.durationMs / 1000;
    const from = length > 1 ? firstSecond + 1 : firstSecond;
    const to = firstSecond + length;
    firstSecond = to;
    const counts = emptyCounts();
    const latency = new LatencyHistogram(2);
    for (let second = from; second < to; second++) {
      const bucket = outcome.seconds[second];
      if (bucket === undefined) continue;
      addCounts(counts, bucket);
      if (bucket.latency !== null) latency.add(bucket.latency);
    }
    const steady = perSecond.slice(from, to);
    const stepCanaries = steady.map((s) => s.canaryP99Ms).filter((v): v is number => v !== null);
    const throttled = steady.map((s) => s.throttledFraction).filter((v): v is number => v !== null);
    const seconds = to - from;
    return {
      index,
      multiple: step.multiple,
      targetRate: step.rate,
      seconds,
      ...counts,
      offeredPerS: counts.offered / seconds,
      admittedPerS: counts.admitted / seconds,
      shedPerS: counts.shed / seconds,
      completedPerS: counts.completed / seconds,
      latency: latency.summary(),
      canaryP99MedianMs: median(stepCanaries),
      canaryP99MaxMs: stepCanaries.length === 0 ? null : Math.max(...stepCanaries),
      throttledShare: throttled.length === 0 ? null : throttled.filter((f) => f > 0).length / throttled.length,
    };
  });
}

function nodePeaks(samples: readonly TimedSample[]): NodePeak[] {
  const peaks = new Map<string, NodePeak>();
  for (const { sample } of samples) {
    for (const node of sample.nodes) {
      const peak = peaks.get(node.name) ?? { name: node.name, maxRssBytes: 0, maxHeapUsedBytes: 0, maxEventLoopDelayP99Ms: 0 };
      peak.maxRssBytes = Math.max(peak.maxRssBytes, node.rssBytes);
      peak.maxHeapUsedBytes = Math.max(peak.maxHeapUsedBytes, node.heapUsedBytes);
      peak.maxEventLoopDelayP99Ms = Math.max(peak.maxEventLoopDelayP99Ms, node.eventLoopDelayP99Ms);
      peaks.set(node.name, peak);
    }
  }
  return [...peaks.values()];
}

export function buildPhaseResult(input: PhaseInput): PhaseResult {
  const totals = emptyCounts();
  for (const bucket of input.outcome.seconds) addCounts(totals, bucket);
  const seconds = secondStats(input);
  return {
    name: input.name,
    throttling: input.throttling,
    idleCanaryP99Ms: idleCanary(input.idleSamples),
    totals,
    latency: input.outcome.total.summary(),
    seconds,
    steps: stepStats(input, seconds),
    nodes: nodePeaks([...input.idleSamples, ...input.samples]),
    histogram: input.outcome.total.encode(),
    lateOutcomes: input.lateOutcomes,
    errorCodes: { ...input.outcome.errors.codes },
    lastError: input.outcome.errors.last,
    samples: { ...input.sampler },
  };
}
