/**
 * Systems `horde` and `horde-nospin` of the `cluster` suite: two horde node processes on loopback
 * (cluster-horde-peer.ts), joined with a shared secret; `horde-nospin` starts both with `spin: 0`
 * (executors park at once instead of spinning first). Starts the sink node, reads its port,
 * starts the driver with the cases, checks and reports the driver's round lines (RoundCollector).
 * Both children have a time limit and are killed in a `finally` whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RoundCollector, type ClusterBenchOptions } from './cluster-cases.js';
import { BoundedChild, describeExit } from './support/child.js';
import type { Report } from './support/report.js';

const PEER = fileURLToPath(new URL('./cluster-horde-peer.ts', import.meta.url));
const PEER_TIMEOUT_MS = 300_000;

function note(text: string): void {
  process.stderr.write(`[cluster] ${text}\n`);
}

/** The variants: the node option `spin` each runs with (undefined: the default). */
export const HORDE_VARIANTS = { horde: undefined, 'horde-nospin': 0 } as const;
export type HordeVariant = keyof typeof HORDE_VARIANTS;

export async function runHorde(report: Report, options: ClusterBenchOptions, variant: HordeVariant = 'horde'): Promise<void> {
  if (options.cases.length === 0) return;
  const spin = HORDE_VARIANTS[variant];
  const secret = randomBytes(24).toString('hex');
  const nodeArgs = ['--import', import.meta.resolve('tsx'), PEER, spin === undefined ? 'default' : String(spin)];
  const children: BoundedChild[] = [];
  try {
    const sink = new BoundedChild(process.execPath, [...nodeArgs, 'sink', secret], { name: '[cluster] horde sink', timeoutMs: PEER_TIMEOUT_MS });
    children.push(sink);
    const line = await sink.lineWithin(30_000, 'port');
    const port = (JSON.parse(line) as { port?: unknown }).port;
    if (typeof port !== 'number') throw new Error(`cluster horde: the sink printed ${line} instead of its port`);
    const driver = new BoundedChild(process.execPath, [...nodeArgs, 'driver', String(port), secret, JSON.stringify(options.cases)], { name: '[cluster] horde driver', timeoutMs: PEER_TIMEOUT_MS });
    children.push(driver);
    const collector = new RoundCollector(variant, options, report);
    for (let next = await driver.nextLine(); next !== undefined; next = await driver.nextLine()) {
      if (next.trim() === '') continue;
      note(collector.add(next));
    }
    const exit = await driver.exited;
    if (exit.code !== 0) throw new Error(`cluster horde: the driver failed (${describeExit(exit)})`);
    collector.finish();
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}
