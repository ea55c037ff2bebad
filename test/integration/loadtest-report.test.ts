// The HTML report of a real run, opened in headless Chromium (Debian's `chromium`, driven by
// playwright-core): every chart drawn, across the whole run, with nothing loaded from elsewhere.
// Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it), or HORDE_CHROMIUM.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadTest } from '../../src/loadtest/harness.js';
import { writeReports } from '../../src/loadtest/reports.js';
import type { LoadTestResult } from '../../src/loadtest/types.js';
import { FixtureTarget } from '../fixtures/loadtest-target.js';

const CHROMIUM = process.env.HORDE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let dir = '';
let result: LoadTestResult;
let paths: { json: string; html: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-loadtest-report-'));
  const target = new FixtureTarget({ concurrency: 4, costMs: 10, queueLimit: 8 });
  try {
    result = await runLoadTest(
      {
        compare: true,
        capacity: 300,
        schedule: { multiples: [0.3, 1, 5], stepMs: 2000 },
        idleMs: 1000,
        cooldownMs: 200,
        progress: false,
      },
      target,
    );
  } finally {
    target.close();
  }
  paths = await writeReports(result, dir, 'report');
}, 120_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface PageElement {
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getAttribute(name: string): string | null;
  getBBox(): { width: number };
}

interface DrawnChart {
  chart: string;
  phase: string;
  paths: { series: string; commands: number; width: number }[];
}

describe('the load-test report', () => {
  it('writes the whole result as JSON', async () => {
    const parsed = JSON.parse(await readFile(paths.json, 'utf8')) as LoadTestResult;
    expect(parsed.phases.map((p) => p.name)).toEqual(['throttling on', 'throttling off']);
    expect(parsed.phases[0]!.seconds).toHaveLength(6);
    expect(parsed.phases[0]!.histogram.length).toBeGreaterThan(10);
    expect(parsed.checks.length).toBe(2);
  });

  it('draws every chart in headless Chromium without touching the network', async () => {
    const userDataDir = await mkdtemp(join(tmpdir(), 'horde-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('request', (request) => requests.push(request.url()));
      const url = pathToFileURL(paths.html).href;
      await page.goto(url);
      await page.waitForSelector('body[data-drawn="true"]', { timeout: 30_000 });
      const charts = await page.evaluate(() => {
        // Runs in the page (the test's tsconfig has no DOM types, hence the small interface).
        const doc = (globalThis as unknown as { document: PageElement }).document;
        return Array.from(doc.querySelectorAll('svg[data-chart]')).map((svg) => ({
          chart: svg.getAttribute('data-chart') ?? '',
          phase: svg.getAttribute('data-phase') ?? '',
          paths: Array.from(svg.querySelectorAll('path[data-series]')).map((path) => ({
            series: path.getAttribute('data-series') ?? '',
            commands: (path.getAttribute('d') ?? '').match(/[MLH]/g)?.length ?? 0,
            width: path.getBBox().width,
          })),
        }));
      });
      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);
      const drawn: DrawnChart[] = charts;
      const kinds = ['latency', 'rates', 'throttle', 'canary', 'loop', 'memory'];
      expect(drawn.map((c) => `${c.chart}/${c.phase}`).sort()).toEqual(kinds.flatMap((k) => [`${k}/0`, `${k}/1`]).sort());
      const seconds = result.phases[0]!.seconds.length;
      for (const chart of drawn) {
        // Every chart has a series with a point for each second of the run, spread across the plot.
        const best = Math.max(...chart.paths.map((p) => p.commands));
        expect(best, `${chart.chart} of phase ${chart.phase}`).toBeGreaterThanOrEqual(seconds);
        expect(Math.max(...chart.paths.map((p) => p.width)), `${chart.chart} width`).toBeGreaterThan(300);
      }
      const rates = drawn.find((c) => c.chart === 'rates' && c.phase === '0')!;
      expect(rates.paths.map((p) => p.series)).toEqual(['offered', 'admitted', 'shed', 'completed']);
      const latency = drawn.find((c) => c.chart === 'latency' && c.phase === '1')!;
      expect(latency.paths.map((p) => p.series)).toEqual(['p50', 'p99', 'p99.9', 'max']);
      const tables = await page.locator('table tbody tr').count();
      expect(tables).toBe(3);
    } finally {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    }
  });
});
