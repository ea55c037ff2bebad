// The load-test harness's surface (the lead decides what of it src/index.ts exports).
export { runLoadTest, type LoadTestOptions } from './harness.js';
export { measureCapacity, type CapacityOptions } from './capacity.js';
export { buildSchedule, type ScheduleOptions } from './schedule.js';
export { checkTargets, CANARY_LIMIT_X_IDLE, GOODPUT_SHARE_OF_PEAK, TARGET_MULTIPLE } from './checks.js';
export { formatSummary } from './summary.js';
export { renderHtmlReport } from './report-html.js';
export { writeHtmlReport, writeJsonReport, writeReports } from './reports.js';
export type { ProgressStream } from './progress.js';
export type {
  CapacityResult,
  Counts,
  GatewaySample,
  LatencySummary,
  LoadTarget,
  LoadTestResult,
  NodePeak,
  NodeSample,
  PhaseResult,
  ScheduleStep,
  SecondStats,
  StepStats,
  TargetCheck,
  TargetSample,
} from './types.js';
