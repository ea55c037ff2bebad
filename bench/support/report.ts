/** One measurement: printed as one JSON line on stdout. */
export interface BenchResult {
  suite: string;
  case: string;
  system: string;
  metric: string;
  value: number;
}

export type Report = (result: Omit<BenchResult, 'suite'>) => void;

/** The system each case's figures are compared against in the table's ratio column. */
const BASELINE_SYSTEM = 'postMessage';

/** Larger is better for throughputs; smaller for latencies (metrics ending in `_us`). */
function lowerIsBetter(metric: string): boolean {
  return metric.endsWith('_us');
}

function formatValue(metric: string, value: number): string {
  if (lowerIsBetter(metric)) return value.toFixed(value < 10 ? 2 : 1);
  return Math.round(value).toLocaleString('en-US');
}

/**
 * An aligned table of results. The last column says how many times better than the `postMessage`
 * system of the same case and metric each figure is (throughput ratio, or latency ratio inverted).
 */
export function formatTable(results: readonly BenchResult[]): string {
  const baseline = new Map<string, number>();
  for (const r of results) {
    if (r.system === BASELINE_SYSTEM) baseline.set(`${r.suite}\0${r.case}\0${r.metric}`, r.value);
  }
  const header = ['suite', 'case', 'system', 'metric', 'value', `x ${BASELINE_SYSTEM}`];
  const rows = results.map((r) => {
    const base = baseline.get(`${r.suite}\0${r.case}\0${r.metric}`);
    let ratio = '';
    if (base !== undefined && base > 0 && r.value > 0) {
      const times = lowerIsBetter(r.metric) ? base / r.value : r.value / base;
      ratio = `${times.toFixed(times < 10 ? 2 : 1)}x`;
    }
    return [r.suite, r.case, r.system, r.metric, formatValue(r.metric, r.value), ratio];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const numeric = new Set([4, 5]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return numeric.has(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
