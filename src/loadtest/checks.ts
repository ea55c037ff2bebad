// The targets of issue 6, checked on a finished run: with throttling on at 5x capacity, canary
// p99 stays within 2x its idle p99 and goodput stays at 90% of peak (the measured capacity).
// Figures are taken over the steady part of the steps at or above 5x (their first second is
// left out: it holds the transition).
import type { CapacityResult, PhaseResult, StepStats, TargetCheck } from './types.js';

/** The offered load, as a multiple of capacity, at and above which the targets are checked (5). */
export const TARGET_MULTIPLE = 5;
/** Canary target: the canary p99 at TARGET_MULTIPLE stays within this many times the phase's idle canary p99 (2). */
export const CANARY_LIMIT_X_IDLE = 2;
/** Goodput target: completions per second at TARGET_MULTIPLE stay at or above this share of the capacity (0.9). */
export const GOODPUT_SHARE_OF_PEAK = 0.9;

function stepsAtTarget(phase: PhaseResult): StepStats[] {
  return phase.steps.filter((step) => step.multiple >= TARGET_MULTIPLE - 1e-9);
}

/** Completions per second and median canary p99 over the steps at or above 5x. */
export function figuresAtTarget(phase: PhaseResult): { goodputPerS: number; canaryP99Ms: number | null } | null {
  const steps = stepsAtTarget(phase);
  if (steps.length === 0) return null;
  const seconds = steps.reduce((sum, s) => sum + s.seconds, 0);
  const completed = steps.reduce((sum, s) => sum + s.completed, 0);
  const canaries = steps.map((s) => s.canaryP99MedianMs).filter((v): v is number => v !== null);
  return { goodputPerS: completed / seconds, canaryP99Ms: canaries.length === 0 ? null : Math.max(...canaries) };
}

/**
 * Checks the targets on each phase with throttling on, over the steady seconds of its steps at or
 * above TARGET_MULTIPLE: canary p99 and goodput, two checks a phase. A check that cannot be
 * evaluated (no such step, no canary samples) has `pass: null` and says why in `note`.
 */
export function checkTargets(capacity: CapacityResult, phases: readonly PhaseResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const phase of phases) {
    if (!phase.throttling) continue;
    const figures = figuresAtTarget(phase);
    const canaryName = `canary p99 at ${TARGET_MULTIPLE}x <= ${CANARY_LIMIT_X_IDLE}x idle p99`;
    const goodputName = `goodput at ${TARGET_MULTIPLE}x >= ${GOODPUT_SHARE_OF_PEAK * 100}% of peak`;
    if (figures === null) {
      const note = `the schedule does not reach ${TARGET_MULTIPLE}x capacity`;
      checks.push({ name: canaryName, phase: phase.name, value: null, limit: null, pass: null, note });
      checks.push({ name: goodputName, phase: phase.name, value: null, limit: null, pass: null, note });
      continue;
    }
    const idle = phase.idleCanaryP99Ms;
    if (figures.canaryP99Ms === null || idle === null) {
      const note = idle === null ? 'no idle canary p99 was sampled' : 'no canary p99 was sampled at the target rate';
      checks.push({ name: canaryName, phase: phase.name, value: figures.canaryP99Ms, limit: null, pass: null, note });
    } else {
      const limit = CANARY_LIMIT_X_IDLE * idle;
      checks.push({
        name: canaryName,
        phase: phase.name,
        value: figures.canaryP99Ms,
        limit,
        pass: figures.canaryP99Ms <= limit,
        note: `ms; idle canary p99 ${idle.toFixed(2)} ms`,
      });
    }
    const limit = GOODPUT_SHARE_OF_PEAK * capacity.rate;
    checks.push({
      name: goodputName,
      phase: phase.name,
      value: figures.goodputPerS,
      limit,
      pass: figures.goodputPerS >= limit,
      note: `completed/s; peak ${capacity.rate.toFixed(0)}/s`,
    });
  }
  return checks;
}
