/**
 * System `naive-json` of the `cluster` suite: two Node processes (cluster-naive-peer.ts), one TCP
 * connection on 127.0.0.1, one JSON line per message. Starts the sink, reads its port, starts the
 * driver with the cases, checks and reports the driver's round lines (RoundCollector). Both
 * children have a time limit and are killed in a `finally` whatever happens.
 */

import { fileURLToPath } from 'node:url';
import { RoundCollector, type ClusterBenchOptions } from './cluster-cases.js';
import { BoundedChild, describeExit } from './support/child.js';
import type { Report } from './support/report.js';

const PEER = fileURLToPath(new URL('./cluster-naive-peer.ts', import.meta.url));
/** The whole driver run: about 10-20 s for the default cases on the 2-core machine. */
const PEER_TIMEOUT_MS = 180_000;
const PORT_TIMEOUT_MS = 30_000;
const SINK_GRACE_MS = 5_000;

function note(text: string): void {
  process.stderr.write(`[cluster] naive-json ${text}\n`);
}

function parsePort(line: string): number {
  let port: unknown;
  try {
    port = (JSON.parse(line) as { port?: unknown }).port;
  } catch {
    throw new Error(`cluster naive-json: the sink printed ${JSON.stringify(line)} instead of its port`);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`cluster naive-json: the sink printed ${JSON.stringify(line)} instead of its port`);
  }
  return port;
}

export async function runNaive(report: Report, options: ClusterBenchOptions): Promise<void> {
  if (options.cases.length === 0) return;
  const started = performance.now();
  const nodeArgs = ['--import', import.meta.resolve('tsx'), PEER];
  const children: BoundedChild[] = [];
  try {
    const sink = new BoundedChild(process.execPath, [...nodeArgs, 'sink'], { name: '[cluster] naive-json sink', timeoutMs: PEER_TIMEOUT_MS });
    children.push(sink);
    const port = parsePort(await sink.lineWithin(PORT_TIMEOUT_MS, 'port'));
    const driver = new BoundedChild(process.execPath, [...nodeArgs, 'driver', String(port), JSON.stringify(options.cases)], {
      name: '[cluster] naive-json driver',
      timeoutMs: PEER_TIMEOUT_MS,
    });
    children.push(driver);
    const collector = new RoundCollector('naive-json', options, report);
    for (let line = await driver.nextLine(); line !== undefined; line = await driver.nextLine()) {
      if (line.trim() === '') continue;
      note(collector.add(line).replace(/^naive-json /, ''));
    }
    const driverExit = await driver.exited;
    if (driverExit.code !== 0) throw new Error(`cluster naive-json: the driver failed (${describeExit(driverExit)})`);
    const sinkExit = await sink.stopAfter(SINK_GRACE_MS);
    if (sinkExit.code !== 0) throw new Error(`cluster naive-json: the sink did not exit cleanly (${describeExit(sinkExit)})`);
    collector.finish();
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
  note(`done in ${((performance.now() - started) / 1e3).toFixed(1)} s`);
}
