/**
 * Suite `large`: messages larger than a ring record between two threads, against postMessage of
 * the same bytes, every system in the same run. Cases and systems are described in
 * bench/README.md; the worker side is large-workers.ts, the processes large-behaviours.ts.
 *
 * transport-1MiB, transport-16MiB: raw bytes from a producer worker to a consumer worker, no
 *   codec. One warm-up round, then MEASURED rounds; the median round's MB/s (10^6 bytes) is
 *   reported (every round is logged on stderr).
 * node-1MiB, node-16MiB: a process on executor 0 sends ASCII strings of that many characters to a
 *   process on executor 1 of a real node (encoding, chunks through the ring, reassembly and
 *   decoding included), one after another as back pressure lets it; the peer posts the same
 *   strings between two workers. Same rounds and median.
 */

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Doorbell, createRing, startNode } from '../src/index.js';
import { CONTROL_BYTES, TRANSPORT_SYSTEMS, type LargeWorkerData, type LargeWorkerMessage } from './large-protocol.js';
import type { SenderMsg, SinkMsg } from './large-behaviours.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';
import { BenchWorker } from './support/workers.js';
import { TSX_PRELOAD } from './support/tsx-preload.js';

const WORKER_ENTRY = new URL('./large-workers.ts', import.meta.url);
const BEHAVIOURS = new URL('./large-behaviours.ts', import.meta.url);
const MIB = 1 << 20;
/** Bytes each measured round moves, whatever the message size. */
const ROUND_BYTES = 256 * MIB;
const NODE_ROUND_BYTES = 128 * MIB;
const MEASURED = 3;
const SIZES = [MIB, 16 * MIB];

function note(text: string): void {
  process.stderr.write(`[large] ${text}\n`);
}

function rounds(size: number, roundBytes: number): number[] {
  const count = Math.max(2, Math.round(roundBytes / size));
  return [Math.max(1, Math.round(count / 4)), ...Array.from({ length: MEASURED }, () => count)];
}

function label(size: number): string {
  return `${size / MIB}MiB`;
}

/** One system in a fresh pair of workers: MB/s of each measured round. */
async function workers(system: LargeWorkerData['system'], size: number, what: string): Promise<number[]> {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const counts = rounds(size, what.startsWith('node') ? NODE_ROUND_BYTES : ROUND_BYTES);
  const base = { system, size, rounds: counts, control };
  let producerData: LargeWorkerData;
  let consumerData: LargeWorkerData;
  let producerTransfer: MessagePort[] = [];
  let consumerTransfer: MessagePort[] = [];
  if (system === 'horde') {
    const ring = createRing({ consumerBell: Doorbell.create(), producerBell: Doorbell.create() });
    producerData = { ...base, role: 'producer', ring };
    consumerData = { ...base, role: 'consumer', ring };
  } else {
    const { port1, port2 } = new MessageChannel();
    producerData = { ...base, role: 'producer', port: port1 };
    consumerData = { ...base, role: 'consumer', port: port2 };
    producerTransfer = [port1];
    consumerTransfer = [port2];
  }
  const consumer = new BenchWorker<LargeWorkerMessage>(WORKER_ENTRY, consumerData, consumerTransfer);
  await consumer.next('ready');
  const producer = new BenchWorker<LargeWorkerMessage>(WORKER_ENTRY, producerData, producerTransfer);
  await producer.next('ready');
  const rates: number[] = [];
  for (const [round, count] of counts.entries()) {
    const [sent, received] = await Promise.all([producer.next('sent'), consumer.next('received')]);
    const seconds = Number(received.endNs - sent.startNs) / 1e9;
    const rate = (count * size) / seconds / 1e6;
    note(`${what} ${system} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${count} x ${label(size)} in ${(seconds * 1e3).toFixed(1)} ms = ${rate.toFixed(0)} MB/s`);
    if (round > 0) rates.push(rate);
  }
  await Promise.all([producer.join(), consumer.join()]);
  return rates;
}

/** horde's node case: a fresh node with two executors, a sender on shard 0 and a sink on shard 1. */
async function nodeRates(size: number): Promise<number[]> {
  const node = await startNode({ behaviours: [BEHAVIOURS], preload: [TSX_PRELOAD], executors: 2 });
  try {
    const sender = await node.spawn<SenderMsg>('large-sender', undefined, { shard: 0 });
    const sink = await node.spawn<SinkMsg>('large-sink', undefined, { shard: 1 });
    await node.ask(sender, { type: 'prepare', size });
    const rates: number[] = [];
    for (const [round, count] of rounds(size, NODE_ROUND_BYTES).entries()) {
      const done = node.ask<number>(sink, { type: 'await', count }, { timeoutMs: 600_000 });
      const started = performance.now();
      node.send(sender, { type: 'go', to: sink, count });
      await done;
      const seconds = (performance.now() - started) / 1e3;
      const rate = (count * size) / seconds / 1e6;
      note(`node-${label(size)} horde round ${round}${round === 0 ? ' (warm-up)' : ''}: ${count} x ${label(size)} in ${(seconds * 1e3).toFixed(1)} ms = ${rate.toFixed(0)} MB/s`);
      if (round > 0) rates.push(rate);
    }
    const status = await node.status();
    if (status.deadLetters !== 0 || status.processCrashes !== 0) throw new Error(`large: node case lost messages (${status.deadLetters} dead letters, ${status.processCrashes} crashes)`);
    return rates;
  } finally {
    await node.stop();
  }
}

export async function run(report: Report): Promise<void> {
  for (const size of SIZES) {
    const what = `transport-${label(size)}`;
    for (const system of TRANSPORT_SYSTEMS) {
      report({ case: what, system, metric: 'mb_per_s', value: Math.round(median(await workers(system, size, what))) });
    }
  }
  for (const size of SIZES) {
    const what = `node-${label(size)}`;
    report({ case: what, system: 'horde', metric: 'mb_per_s', value: Math.round(median(await nodeRates(size))) });
    report({ case: what, system: 'postMessage', metric: 'mb_per_s', value: Math.round(median(await workers('postMessage-string', size, what))) });
  }
}
