// The load-test harness's vocabulary: the target it drives, what it samples, and what it reports.

/** One gateway's state as the harness samples it (a subset of the gateway's `GatewayStatus`). */
export interface GatewaySample {
  /** A label for the gateway (its address or node name). */
  name: string;
  throttled: boolean;
  /** Canary round-trip p99 over the gateway's sliding window, in ms. */
  canaryP99Ms: number;
  /** The gateway's own idea of the idle canary p99, if it keeps one. */
  idleCanaryP99Ms?: number;
}

/** One node's health as the harness samples it. */
export interface NodeSample {
  name: string;
  /** Event-loop delay p99 of the node's main thread, in ms. */
  eventLoopDelayP99Ms: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface TargetSample {
  gateways: GatewaySample[];
  nodes: NodeSample[];
}

/** What the harness drives: the lead wires it to real gateways; tests use targets of their own. */
export interface LoadTarget {
  /** One request through a gateway; resolves (any value) or rejects with a HordeError
   *  (code HORDE_OVERLOADED = shed, HORDE_TIMEOUT = timeout, any other code = error). */
  request(): Promise<unknown>;
  /** Gateway status and each node's event-loop delay and memory; called about once a second. */
  sample(): Promise<TargetSample>;
  setThrottling(enabled: boolean): Promise<void>;
}

/** One step of the schedule: a constant offered rate for a whole number of seconds. */
export interface ScheduleStep {
  /** The rate as a multiple of the measured capacity. */
  multiple: number;
  /** Requests per second offered during the step. */
  rate: number;
  durationMs: number;
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  count: number;
}

/** Outcome counts. Identity: offered = notSent + shed + admitted + unfinished;
 *  admitted = completed + timeouts + errors. */
export interface Counts {
  /** Requests the schedule called for. */
  offered: number;
  /** Not sent because `maxOutstanding` requests were already outstanding (counted as failures). */
  notSent: number;
  /** Answered with HORDE_OVERLOADED. */
  shed: number;
  /** Answered otherwise than by shedding. */
  admitted: number;
  /** Resolved: the service's reply came back. */
  completed: number;
  /** Rejected with HORDE_TIMEOUT. */
  timeouts: number;
  /** Rejected with any other error. */
  errors: number;
  /** Still outstanding when the phase's drain time ran out (their later outcomes are ignored). */
  unfinished: number;
}

/** One second of a phase. Requests belong to the second they were *scheduled* in. */
export interface SecondStats extends Counts {
  /** Seconds since the phase's schedule started. */
  second: number;
  /** Offered rate the schedule called for during this second. */
  targetRate: number;
  /** Latency of the completed requests, from scheduled send time to reply; null when none completed. */
  latency: LatencySummary | null;
  /** p99 of how late the driver sent requests (event-loop lag of the harness itself), in ms. */
  sendLagP99Ms: number | null;
  /** Gateways throttled over gateways sampled, in the last sample before the second's end (at most
   *  2 s old); null without one. Canary and nodes come from the same sample. */
  throttledFraction: number | null;
  /** The highest canary p99 over the gateways in that sample. */
  canaryP99Ms: number | null;
  nodes: NodeSample[];
}

/** A step's figures over its steady part (its seconds after the first, if it has more than one). */
export interface StepStats extends Counts {
  index: number;
  multiple: number;
  targetRate: number;
  /** The seconds the figures cover. */
  seconds: number;
  offeredPerS: number;
  admittedPerS: number;
  shedPerS: number;
  completedPerS: number;
  latency: LatencySummary | null;
  /** Median and highest of the steady seconds' canary p99 (see `SecondStats.canaryP99Ms`). */
  canaryP99MedianMs: number | null;
  canaryP99MaxMs: number | null;
  /** Share of the steady seconds with any gateway throttled. */
  throttledShare: number | null;
}

export interface NodePeak {
  name: string;
  maxRssBytes: number;
  maxHeapUsedBytes: number;
  maxEventLoopDelayP99Ms: number;
}

export interface PhaseResult {
  name: string;
  throttling: boolean;
  /** Median canary p99 sampled while no load ran (the gateway's own idle figure if we got no samples). */
  idleCanaryP99Ms: number | null;
  totals: Counts;
  latency: LatencySummary | null;
  seconds: SecondStats[];
  steps: StepStats[];
  nodes: NodePeak[];
  /** The phase's latency histogram, hdr-histogram's compressed base64 (microseconds). */
  histogram: string;
  /** Outcomes that arrived after the phase was closed. */
  lateOutcomes: number;
  /** Errors by code (at most 32 codes; the rest under "other"). */
  errorCodes: Record<string, number>;
  lastError: string | null;
  samples: { taken: number; skipped: number; failed: number; lastError: string | null };
}

export interface CapacityResult {
  /** Completed requests per second the schedule is built on. */
  rate: number;
  /** False when the rate was given in the options rather than measured. */
  measured: boolean;
  concurrency: number;
  durationMs: number;
  completed: number;
  shed: number;
  failed: number;
}

export interface TargetCheck {
  name: string;
  phase: string;
  value: number | null;
  limit: number | null;
  /** null: not evaluated (the reason is in `note`). */
  pass: boolean | null;
  note: string;
}

export interface LoadTestResult {
  startedAt: string;
  finishedAt: string;
  compare: boolean;
  capacity: CapacityResult;
  schedule: ScheduleStep[];
  phases: PhaseResult[];
  checks: TargetCheck[];
}
