// The self-contained HTML report: the figures as embedded JSON, tables rendered here, and charts
// drawn in the browser by the inlined script. No external resource of any kind.
import { REPORT_SCRIPT } from './report-script.js';
import { formatCheck } from './summary.js';
import type { LoadTestResult, PhaseResult } from './types.js';

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no "</script>", no HTML comment openers, no line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function cell(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? '-' : value.toFixed(digits);
}

function stepRows(result: LoadTestResult): string {
  const phaseHeads = result.phases
    .map((p) => `<th colspan="5">${escapeHtml(p.name)}</th>`)
    .join('');
  const sub = result.phases.map(() => '<th>done/s</th><th>shed/s</th><th>fail/s</th><th>p99 ms</th><th>canary ms</th>').join('');
  const rows = result.schedule
    .map((step, index) => {
      const cells = result.phases
        .map((p) => {
          const s = p.steps[index];
          if (s === undefined) return '<td>-</td>'.repeat(5);
          const failed = (s.notSent + s.timeouts + s.errors + s.unfinished) / s.seconds;
          return `<td>${cell(s.completedPerS)}</td><td>${cell(s.shedPerS)}</td><td>${cell(failed)}</td><td>${cell(s.latency?.p99Ms, 1)}</td><td>${cell(s.canaryP99MedianMs, 1)}</td>`;
        })
        .join('');
      return `<tr><td>${index + 1}</td><td>${step.multiple.toFixed(2)}</td><td>${cell(step.rate)}</td>${cells}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr><th rowspan="2">step</th><th rowspan="2">x capacity</th><th rowspan="2">offered/s</th>${phaseHeads}</tr><tr>${sub}</tr></thead><tbody>${rows}</tbody></table>`;
}

function phaseNote(phase: PhaseResult): string {
  const t = phase.totals;
  const l = phase.latency;
  return `<li><b>${escapeHtml(phase.name)}</b>: offered ${t.offered}, completed ${t.completed}, shed ${t.shed}, not sent ${t.notSent}, timeouts ${t.timeouts}, errors ${t.errors}, unfinished ${t.unfinished}; latency p50 ${cell(l?.p50Ms, 2)} ms, p99 ${cell(l?.p99Ms, 2)} ms, p99.9 ${cell(l?.p999Ms, 2)} ms, max ${cell(l?.maxMs, 2)} ms; idle canary p99 ${cell(phase.idleCanaryP99Ms, 2)} ms</li>`;
}

/** The report as one HTML document. */
export function renderHtmlReport(result: LoadTestResult): string {
  // The charts need the per-second figures only; the encoded histograms stay in the JSON file.
  const embedded = { ...result, phases: result.phases.map((p) => ({ ...p, histogram: undefined })) };
  const checks = result.checks.map((c) => `<li class="${c.pass === null ? 'na' : c.pass ? 'pass' : 'fail'}">${escapeHtml(formatCheck(c))}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>horde load test ${escapeHtml(result.startedAt)}</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 20px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; }
#charts { display: flex; gap: 24px; flex-wrap: wrap; }
.phase h2 { font-size: 15px; margin: 4px 0; }
.phase svg { display: block; margin-bottom: 10px; }
.pass { color: #17702a; } .fail { color: #b00020; } .na { color: #777; }
</style>
</head>
<body>
<h1>horde load test</h1>
<p>${escapeHtml(result.startedAt)} to ${escapeHtml(result.finishedAt)}. Capacity ${result.capacity.rate.toFixed(0)} completed/s (${result.capacity.measured ? `measured closed-loop with ${result.capacity.concurrency} in flight` : 'given'}). Requests are timed from their scheduled send time and belong to the second they were scheduled in.</p>
<h2>Targets</h2>
<ul>${checks || '<li class="na">no target evaluated</li>'}</ul>
<h2>Steps</h2>
${stepRows(result)}
<ul>${result.phases.map(phaseNote).join('\n')}</ul>
<div id="charts"></div>
<script type="application/json" id="horde-data">${jsonForScript(embedded)}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
