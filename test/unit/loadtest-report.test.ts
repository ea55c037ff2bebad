// The target checks, the terminal summary, the progress display and the HTML writer, on hand-made results.
import { describe, expect, it } from 'vitest';
import { checkTargets, figuresAtTarget } from '../../src/loadtest/checks.js';
import { Progress } from '../../src/loadtest/progress.js';
import { jsonForScript, renderHtmlReport } from '../../src/loadtest/report-html.js';
import { formatSummary } from '../../src/loadtest/summary.js';
import { phase, result, step } from '../fixtures/loadtest-result.js';

const capacity = result([]).capacity; // 1000 completed/s

describe('checkTargets', () => {
  it('passes when canary p99 at 5x stays within 2x idle and goodput within 90% of peak', () => {
    const on = phase(true, [step(0, 1), step(1, 5, { completedPerS: 950, completed: 3800, canaryP99MedianMs: 3.9 })], 2);
    const checks = checkTargets(capacity, [on]);
    expect(checks.map((c) => [c.name, c.pass])).toEqual([
      ['canary p99 at 5x <= 2x idle p99', true],
      ['goodput at 5x >= 90% of peak', true],
    ]);
    expect(checks[0]).toMatchObject({ value: 3.9, limit: 4 });
    expect(checks[1]).toMatchObject({ value: 950, limit: 900 });
  });

  it('fails each target on its own', () => {
    const slow = phase(true, [step(0, 5, { completed: 4000, canaryP99MedianMs: 4.1 })], 2);
    expect(checkTargets(capacity, [slow]).map((c) => c.pass)).toEqual([false, true]);
    const starved = phase(true, [step(0, 5, { completed: 3596, canaryP99MedianMs: 1 })], 2);
    expect(checkTargets(capacity, [starved]).map((c) => c.pass)).toEqual([true, false]);
  });

  it('checks the throttled phase only, and says why a target was not evaluated', () => {
    const off = phase(false, [step(0, 5)]);
    expect(checkTargets(capacity, [off])).toEqual([]);
    const short = checkTargets(capacity, [phase(true, [step(0, 1), step(1, 4.9)])]);
    expect(short.map((c) => c.pass)).toEqual([null, null]);
    expect(short[0]!.note).toContain('does not reach 5x');
    const noIdle = checkTargets(capacity, [phase(true, [step(0, 5)], null)]);
    expect(noIdle[0]).toMatchObject({ pass: null, note: 'no idle canary p99 was sampled' });
    expect(noIdle[1]!.pass).toBe(true);
  });

  it('pools the steps at or above 5x, taking the worst canary', () => {
    const on = phase(true, [step(0, 5, { completed: 4000, canaryP99MedianMs: 2 }), step(1, 6, { completed: 2000, canaryP99MedianMs: 7 })]);
    expect(figuresAtTarget(on)).toEqual({ goodputPerS: 750, canaryP99Ms: 7 });
  });
});

describe('formatSummary', () => {
  it('puts the phases side by side and lists totals, nodes and checks', () => {
    const steps = [step(0, 0.5), step(1, 5, { completedPerS: 950, completed: 3800, shedPerS: 4050, throttledShare: 0.75 })];
    const r = result([phase(true, steps), phase(false, steps)]);
    r.checks = checkTargets(r.capacity, r.phases);
    const text = formatSummary(r);
    const header = text.split('\n').find((line) => line.startsWith('step'))!;
    expect(header).toContain('on done/s');
    expect(header).toContain('off done/s');
    const lastStep = text.split('\n').find((line) => line.startsWith('2 '))!;
    expect(lastStep).toContain('5.00');
    expect(lastStep).toContain('4,050');
    expect(lastStep).toContain('75%');
    expect(text).toContain('capacity: 1,000 completed/s (closed loop, 32 in flight');
    expect(text).toContain('rss max 50.0 MiB');
    expect(text).toMatch(/PASS \[throttling on\] goodput at 5x >= 90% of peak: 950.00 \(limit 900.00\)/);
  });
});

describe('Progress', () => {
  it('writes plain lines at most once a second when the stream is not a TTY', () => {
    const out: string[] = [];
    const progress = new Progress({ write: (c) => out.push(c) > 0, isTTY: false }, 1000);
    progress.update(100, 'first');
    progress.update(200, 'second (within the same second: dropped)');
    progress.note('phase two');
    progress.finish();
    expect(out).toEqual(['loadtest 10% first\n', 'loadtest: phase two\n']);
  });

  it('redraws one bar on a TTY and clears it before a note', () => {
    const out: string[] = [];
    const progress = new Progress({ write: (c) => out.push(c) > 0, isTTY: true, columns: 80 }, 1000);
    progress.update(500, 'half');
    progress.update(2000, 'past the end');
    progress.note('done');
    expect(out[0]).toBe(`\r\x1b[2K[${'#'.repeat(12)}${'.'.repeat(12)}]  50% half`);
    expect(out[1]).toContain(`[${'#'.repeat(24)}] 100% past the end`);
    expect(out.slice(2)).toEqual(['\r\x1b[2K', 'loadtest: done\n']);
  });
});

describe('renderHtmlReport', () => {
  it('embeds the data so no string can close the script, and loads nothing from elsewhere', () => {
    const html = renderHtmlReport(result([phase(true, [step(0, 1)])]));
    const data = /<script type="application\/json" id="horde-data">([^]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toContain('<');
    const parsed = JSON.parse(data) as { phases: { nodes: { name: string }[]; histogram?: string }[] };
    expect(parsed.phases[0]!.nodes[0]!.name).toBe('n1 </script><b>');
    expect(parsed.phases[0]!.histogram).toBeUndefined();
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).toContain("default-src 'none'");
    expect(html.match(/<script/g)).toHaveLength(2);
  });

  it('escapes line separators and ampersands for the script context', () => {
    expect(jsonForScript({ s: 'a\u2028b&c>' })).toBe('{"s":"a\\u2028b\\u0026c\\u003e"}');
  });
});
