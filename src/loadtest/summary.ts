// The summary for the terminal: capacity, a table of steps with the phases side by side, each
// phase's totals and node peaks, and the target checks.
import type { LoadTestResult, PhaseResult, StepStats, TargetCheck } from './types.js';

function num(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function phaseCells(step: StepStats | undefined): string[] {
  if (step === undefined) return ['-', '-', '-', '-', '-', '-'];
  const failed = step.notSent + step.timeouts + step.errors + step.unfinished;
  return [
    num(step.completedPerS),
    num(step.shedPerS),
    num(failed / step.seconds),
    num(step.latency?.p99Ms, 1),
    num(step.canaryP99MedianMs, 1),
    step.throttledShare === null ? '-' : `${Math.round(step.throttledShare * 100)}%`,
  ];
}

function stepTable(result: LoadTestResult): string {
  const header = ['step', 'x cap', 'offered/s'];
  for (const phase of result.phases) {
    const tag = phase.throttling ? 'on' : 'off';
    header.push(`${tag} done/s`, `${tag} shed/s`, `${tag} fail/s`, `${tag} p99 ms`, `${tag} canary`, `${tag} thr`);
  }
  const rows = result.schedule.map((step, index) => {
    const offered = result.phases[0]?.steps[index]?.offeredPerS ?? step.rate;
    const row = [String(index + 1), num(step.multiple, 2), num(offered)];
    for (const phase of result.phases) row.push(...phaseCells(phase.steps[index]));
    return row;
  });
  return table(header, rows);
}

function phaseTotals(phase: PhaseResult): string {
  const t = phase.totals;
  const l = phase.latency;
  const lines = [
    `${phase.name}: offered ${num(t.offered)}, completed ${num(t.completed)}, shed ${num(t.shed)}, not sent ${num(t.notSent)}, ` +
      `timeouts ${num(t.timeouts)}, errors ${num(t.errors)}, unfinished ${num(t.unfinished)}`,
    `  latency ms: p50 ${num(l?.p50Ms, 2)}  p99 ${num(l?.p99Ms, 2)}  p99.9 ${num(l?.p999Ms, 2)}  max ${num(l?.maxMs, 2)};` +
      `  idle canary p99 ${num(phase.idleCanaryP99Ms, 2)} ms`,
  ];
  for (const node of phase.nodes) {
    lines.push(
      `  node ${node.name}: rss max ${num(node.maxRssBytes / 2 ** 20, 1)} MiB, heap max ${num(node.maxHeapUsedBytes / 2 ** 20, 1)} MiB, ` +
        `event-loop delay p99 max ${num(node.maxEventLoopDelayP99Ms, 1)} ms`,
    );
  }
  if (phase.lastError !== null) lines.push(`  last error: ${phase.lastError}`);
  if (phase.samples.failed > 0) lines.push(`  samples failed: ${phase.samples.failed} (last: ${phase.samples.lastError ?? '-'})`);
  return lines.join('\n');
}

export function formatCheck(check: TargetCheck): string {
  const verdict = check.pass === null ? 'n/a ' : check.pass ? 'PASS' : 'FAIL';
  const figures = check.value === null ? '' : ` ${num(check.value, 2)}${check.limit === null ? '' : ` (limit ${num(check.limit, 2)})`}`;
  return `${verdict} [${check.phase}] ${check.name}:${figures} ${check.note}`;
}

/** The run as text for a terminal: capacity, a table of the steps with the phases side by side, each phase's totals and node peaks, and the target checks. */
export function formatSummary(result: LoadTestResult): string {
  const c = result.capacity;
  const capacity = c.measured
    ? `capacity: ${num(c.rate)} completed/s (closed loop, ${c.concurrency} in flight for ${c.durationMs} ms; ${num(c.completed)} completed, ${num(c.shed)} shed, ${num(c.failed)} failed)`
    : `capacity: ${num(c.rate)} completed/s (given)`;
  const parts = [
    capacity,
    '',
    stepTable(result),
    '(per step over its seconds after the first; fail = not sent + timeouts + errors + unfinished; canary = median canary p99 ms; thr = samples throttled)',
    '',
    ...result.phases.map(phaseTotals),
  ];
  if (result.checks.length > 0) parts.push('', 'targets:', ...result.checks.map(formatCheck));
  return parts.join('\n');
}
