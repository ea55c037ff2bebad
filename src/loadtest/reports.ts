// Writing a finished run's reports: the JSON file (every figure, histograms included) and the HTML page.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderHtmlReport } from './report-html.js';
import type { LoadTestResult } from './types.js';

/** Writes `result` to `file` as indented JSON (every figure, histograms included), creating its directory; replaces an existing file. */
export async function writeJsonReport(result: LoadTestResult, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
}

/** Writes the self-contained HTML report of `result` (`renderHtmlReport`) to `file`, creating its directory; replaces an existing file. */
export async function writeHtmlReport(result: LoadTestResult, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderHtmlReport(result));
}

/** Writes `<dir>/<name>.json` and `<dir>/<name>.html`; returns their paths. */
export async function writeReports(
  result: LoadTestResult,
  dir: string,
  name = 'loadtest',
): Promise<{
  /** Path of the JSON report written. */
  json: string;
  /** Path of the HTML report written. */
  html: string;
}> {
  const json = join(dir, `${name}.json`);
  const html = join(dir, `${name}.html`);
  await writeJsonReport(result, json);
  await writeHtmlReport(result, html);
  return { json, html };
}
