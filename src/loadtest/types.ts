// The load-test harness's vocabulary: the target it drives, what it samples, and what it reports.

/** One gateway's state as the harness samples it (a subset of the gateway's `GatewayStatus`). */
export interface GatewaySample {
  /** A label for the gateway (its address or node name). */
  name: string;
  /** True while the gateway's throttle was on (`GatewayStatus.throttled`). */
  throttled: boolean;
  /** Canary round-trip p99 over the gateway's sliding window, in ms. */
  canaryP99Ms: number;
  /** The gateway's own idea of the idle canary p99, if it keeps one. */
  idleCanaryP99Ms?: number;
}

/** One node's health as the harness samples it. */
export interface NodeSample {
  /** A label for the node (its name). */
  name: string;
  /** Event-loop delay p99 of the node's main thread, in ms. */
  eventLoopDelayP99Ms: number;
  /** Resident set size of the node's process, in bytes. */
  rssBytes: number;
  /** V8 heap in use on the node's main thread, in bytes. */
  heapUsedBytes: number;
}

/** One sample of the target, from `LoadTarget.sample`: every gateway's state and every node's health. */
export interface TargetSample {
  /** One per gateway driven; none: no canary or throttle figures. */
  gateways: GatewaySample[];
  /** One per node; none: no node figures. */
  nodes: NodeSample[];
}

/** What the harness drives: `horde loadtest` wires it to real gateways; tests use targets of their own. */
export interface LoadTarget {
  /** One request through a gateway; resolves (any value) or rejects with a HordeError
   *  (code HORDE_OVERLOADED = shed, HORDE_TIMEOUT = timeout, any other code = error). */
  request(): Promise<unknown>;
  /** Gateway status and each node's event-loop delay and memory; called about once a second. */
  sample(): Promise<TargetSample>;
  /** Switches throttling on or off on every gateway; awaited before each phase (off for the capacity run). */
  setThrottling(enabled: boolean): Promise<void>;
}

/** One step of the schedule: a constant offered rate for a whole number of seconds. */
export interface ScheduleStep {
  /** The rate as a multiple of the measured capacity. */
  multiple: number;
  /** Requests per second offered during the step. */
  rate: number;
  /** Length of the step in ms, a whole number of seconds. */
  durationMs: number;
}

/**
 * Latency of completed requests, in ms, from an HdrHistogram (1% resolution per second and step,
 * 0.1% per phase); a latency above 60 s counts as 60 s.
 */
export interface LatencySummary {
  /** Median latency, in ms. */
  p50Ms: number;
  /** 99th percentile, in ms. */
  p99Ms: number;
  /** 99.9th percentile, in ms. */
  p999Ms: number;
  /** Highest latency recorded, in ms. */
  maxMs: number;
  /** Completed requests the figures cover. */
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
  /** Each node's health in that sample (empty without one). */
  nodes: NodeSample[];
}

/** A step's figures over its steady part (its seconds after the first, if it has more than one). */
export interface StepStats extends Counts {
  /** The step's position in the schedule, from 0. */
  index: number;
  /** The step's offered rate as a multiple of capacity. */
  multiple: number;
  /** Requests per second the schedule offered during the step. */
  targetRate: number;
  /** The seconds the figures cover. */
  seconds: number;
  /** Requests scheduled per second (sent or not). */
  offeredPerS: number;
  /** Requests per second answered otherwise than by shedding (completed, timed out or failed). */
  admittedPerS: number;
  /** Requests per second answered HORDE_OVERLOADED. */
  shedPerS: number;
  /** Requests per second that completed: the goodput. */
  completedPerS: number;
  /** Latency of the requests completed in these seconds, from scheduled send time to reply; null when none completed. */
  latency: LatencySummary | null;
  /** Median of the steady seconds' canary p99 (see `SecondStats.canaryP99Ms`), in ms; null without samples. */
  canaryP99MedianMs: number | null;
  /** Highest of the steady seconds' canary p99, in ms; null without samples. */
  canaryP99MaxMs: number | null;
  /** Share of the steady seconds with any gateway throttled. */
  throttledShare: number | null;
}

/** A node's highest figures over a phase's samples (its idle period included). */
export interface NodePeak {
  /** The node's label, as its samples gave it. */
  name: string;
  /** Highest resident set size, in bytes. */
  maxRssBytes: number;
  /** Highest V8 heap in use, in bytes. */
  maxHeapUsedBytes: number;
  /** Highest event-loop delay p99 of its main thread, in ms. */
  maxEventLoopDelayP99Ms: number;
}

/** One phase of a run: its idle period, then the whole schedule with throttling on or off. */
export interface PhaseResult {
  /** `'throttling on'` or `'throttling off'`. */
  name: string;
  /** Whether the gateways throttled during the phase. */
  throttling: boolean;
  /** Median canary p99 sampled while no load ran (the gateway's own idle figure if we got no samples). */
  idleCanaryP99Ms: number | null;
  /** Outcome counts over the whole phase. */
  totals: Counts;
  /** Latency of every request of the phase that completed, from scheduled send time to reply; null when none did. */
  latency: LatencySummary | null;
  /** One per second of the schedule, from its start. */
  seconds: SecondStats[];
  /** One per step of the schedule. */
  steps: StepStats[];
  /** One per node sampled. */
  nodes: NodePeak[];
  /** The phase's latency histogram, hdr-histogram's compressed base64 (microseconds). */
  histogram: string;
  /** Outcomes that arrived after the phase was closed. */
  lateOutcomes: number;
  /** Errors by code (at most 32 codes; the rest under "other"). */
  errorCodes: Record<string, number>;
  /** The last timeout or error as `CODE: message` (shed requests are not errors); null without one. */
  lastError: string | null;
  /** How sampling the target went during the phase (its idle period included). */
  samples: {
    /** Samples the target answered. */
    taken: number;
    /** Sampling ticks skipped: a sample still pending, or 86,400 samples kept already. */
    skipped: number;
    /** Samples that failed. */
    failed: number;
    /** The last sampling failure as `CODE: message`; null without one. */
    lastError: string | null;
  };
}

/** The capacity a run's schedule is built on: measured by a closed-loop run, or given in the options. */
export interface CapacityResult {
  /** Completed requests per second the schedule is built on. */
  rate: number;
  /** False when the rate was given in the options rather than measured. */
  measured: boolean;
  /** Requests in flight during the capacity run (0 when the rate was given). */
  concurrency: number;
  /** Length of the capacity run, in ms (0 when the rate was given). */
  durationMs: number;
  /** Requests the capacity run completed (0 when the rate was given). */
  completed: number;
  /** Requests of the capacity run answered HORDE_OVERLOADED. */
  shed: number;
  /** Requests of the capacity run that failed otherwise (timeouts and errors). */
  failed: number;
}

/** One target checked on a phase with throttling on (see `checkTargets`). */
export interface TargetCheck {
  /** What is checked, e.g. `goodput at 5x >= 90% of peak`. */
  name: string;
  /** The name of the phase it was checked on. */
  phase: string;
  /** The measured figure (ms for the canary, completed/s for goodput); null when not measured. */
  value: number | null;
  /** The bound `value` is held to; null when not evaluated. */
  limit: number | null;
  /** null: not evaluated (the reason is in `note`). */
  pass: boolean | null;
  /** The unit and what the limit came from (idle canary p99, peak rate), or why the check was not evaluated. */
  note: string;
}

/** Everything a run measured: what `writeJsonReport` writes and `formatSummary` and the HTML report show. */
export interface LoadTestResult {
  /** When the run started, as an ISO 8601 string. */
  startedAt: string;
  /** When the run finished, as an ISO 8601 string. */
  finishedAt: string;
  /** True when the run had two phases, throttling on then off (option `compare`). */
  compare: boolean;
  /** The capacity the schedule was built on. */
  capacity: CapacityResult;
  /** The steps every phase ran, with their rates. */
  schedule: ScheduleStep[];
  /** The phases in the order they ran. */
  phases: PhaseResult[];
  /** The target checks of the phases with throttling on. */
  checks: TargetCheck[];
}
