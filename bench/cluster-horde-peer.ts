/**
 * The two node processes of horde's side of the `cluster` suite (cluster-horde.ts starts them).
 *
 * `cluster-horde-peer.ts sink SECRET`: a horde node ("sink") with a counting sink and an echo,
 * registered as `sink` and `echo`; prints `{"port":P}` and runs until its stdin closes.
 * `cluster-horde-peer.ts driver PORT SECRET CASES_JSON`: a node ("driver") that joins the sink and
 * runs the cases, printing the round lines of cluster-cases.ts:
 * - oneway-64B: a blaster process on the driver's executor sends `count` 64-byte strings to the
 *   sink on the other node; the round ends when the sink has counted them all (an ask that the
 *   sink answers then).
 * - ask-rtt: `node.ask(echo, i)` from the driver's main thread, one after another.
 */
import { startNode, type HordeNode } from '../src/node/node.js';
import { PAYLOAD, type ClusterCase } from './cluster-cases.js';
import type { BlasterMsg, SinkMsg } from './cluster-horde-behaviours.js';
import type { Pid } from '../src/process/pid.js';
import { percentileOfSorted } from './support/stats.js';
import { TSX_PRELOAD } from './support/tsx-preload.js';

const BEHAVIOURS = new URL('./cluster-horde-behaviours.ts', import.meta.url);

function fail(message: string): never {
  process.stderr.write(`horde cluster peer: ${message}\n`);
  process.exit(1);
}

/** The executors' `spin` (the first argument: a number, or 'default'). */
let spin: number | undefined;

async function start(name: string, secret: string, seeds: string[]): Promise<HordeNode> {
  const node = await startNode({ behaviours: [BEHAVIOURS], preload: [TSX_PRELOAD], executors: 1, ...(spin === undefined ? {} : { spin }), cluster: { name, secret, seeds } });
  node.on('clusterConnection', (detail) => process.stderr.write(`horde cluster peer ${name}: ${JSON.stringify(detail)}\n`));
  return node;
}

async function sink(secret: string): Promise<void> {
  const node = await start('sink', secret, []);
  node.register('sink', await node.spawn('bench-sink', undefined, { shard: 0 }));
  node.register('echo', await node.spawn('bench-echo', undefined, { shard: 0 }));
  process.stdout.write(`${JSON.stringify({ port: node.clusterAddress.port })}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('close', resolve));
  await node.stop();
}

async function oneway(node: HordeNode, blaster: Pid<BlasterMsg>, round: number, count: number): Promise<void> {
  const target = node.whereis<SinkMsg>('sink')!;
  const t0 = performance.now();
  const done = node.ask<number>(target, { type: 'expect', count }, { timeoutMs: 120_000 });
  node.send(blaster, { type: 'blast', to: target, count, payload: PAYLOAD });
  const messages = await done;
  const seconds = (performance.now() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({ case: 'oneway-64B', round, messages, seconds })}\n`);
}

async function rtt(node: HordeNode, round: number, count: number): Promise<void> {
  const echo = node.whereis('echo')!;
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await node.ask(echo, i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  samples.sort();
  process.stdout.write(`${JSON.stringify({ case: 'ask-rtt', round, samples: count, p50_us: percentileOfSorted(samples, 0.5), p99_us: percentileOfSorted(samples, 0.99) })}\n`);
}

async function driver(port: number, secret: string, cases: ClusterCase[]): Promise<void> {
  const node = await start('driver', secret, [`127.0.0.1:${port}`]);
  const deadline = Date.now() + 30_000;
  while (node.whereis('sink') === undefined || node.whereis('echo') === undefined) {
    if (Date.now() > deadline) fail('the sink node did not show up within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const blaster = await node.spawn<BlasterMsg>('bench-blaster', undefined, { shard: 0 });
  for (const c of cases) {
    for (let round = 0; round <= c.rounds; round++) {
      const count = round === 0 ? c.warmup : c.count;
      if (c.name === 'oneway-64B') await oneway(node, blaster, round, count);
      else await rtt(node, round, count);
    }
  }
  await node.stop();
}

const [spinArg, mode, ...args] = process.argv.slice(2);
try {
  if (spinArg !== 'default') spin = Number(spinArg);
  if (mode === 'sink') await sink(args[0]!);
  else if (mode === 'driver') await driver(Number(args[0]), args[1]!, JSON.parse(args[2]!) as ClusterCase[]);
  else fail(`unknown mode ${String(mode)}`);
} catch (error) {
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
}
