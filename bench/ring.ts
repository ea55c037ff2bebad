/**
 * Suite `ring`: the SharedArrayBuffer SPSC ring (src/ring) against the other ways two Node threads
 * can talk, every system measured in the same run. Cases and systems are described in
 * bench/README.md; the worker side is ring-workers.ts.
 *
 * oneway-64B: 64-byte records from a producer worker to a consumer worker, timed from the
 *   producer's first record to the consumer's check of the last one. One warm-up round, then
 *   ONEWAY_MEASURED rounds of 1,000,000 records in the same pair of workers; the median round is
 *   reported (every round is logged on stderr).
 * pingpong: round trips of one 64-byte message between two workers, timed by the pinger.
 * write-read-64B: one thread writes records and reads them back (tinybench micro-benchmark).
 *
 * Before and after the cases, a calibration on stderr: the core-to-core round trip of one cache
 * line, which on a VM moves from run to run and takes the ring's figures with it.
 */

import { Piscina } from 'piscina';
import { Bench } from 'tinybench';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Doorbell, RingReader, RingWriter, createRing, type RingHandle } from '../src/index.js';
import {
  CONTROL_BYTES,
  FLAG_BYTES,
  ONEWAY_SYSTEMS,
  PAYLOAD_BYTES,
  PINGPONG_SYSTEMS,
  RECORD_KIND,
  openGate,
  type OnewayData,
  type OnewaySystem,
  type PingpongData,
  type PingpongSystem,
  type RingWorkerMessage,
} from './ring-protocol.js';
import type { Report } from './support/report.js';
import { median, percentileOfSorted } from './support/stats.js';
import { BenchWorker } from './support/workers.js';

const WORKER_ENTRY = new URL('./ring-workers.ts', import.meta.url);
const NOOP_TASK = fileURLToPath(new URL('./support/noop-task.ts', import.meta.url));

const ONEWAY_RECORDS = 1_000_000;
const ONEWAY_WARMUP = 200_000;
const ONEWAY_MEASURED = 3;
/**
 * Records per publish in system `horde`. A publish is a seq-cst Atomics.store of HEAD (a locked
 * instruction that waits for HEAD's cache line, which the spinning consumer keeps reading) plus a
 * load of the consumer's doorbell; batching spreads that over many records. Measured on the
 * 2-core machine (median of 3 rounds, good runs): publish per record 13-15M msgs/s; batches of 16
 * to 1024 all reach the same 30-38M, where the consumer checking each record is the limit. 64
 * (4.3 KB, about 2 us of producer work) is on that plateau with margin and keeps the consumer's
 * wait for the first record of a batch short. `horde-nobatch` shows what batching is worth.
 */
const HORDE_BATCH = 64;
/**
 * postMessage systems: most records in flight (sent, not yet taken by the consumer). About what
 * the 1 MiB ring holds (15,420 records of 68 bytes), so every system has the same bounded queue
 * and the producer cannot just bury the consumer in a million queued messages.
 */
const POST_WINDOW = 16_384;

const PISCINA_TASKS = 100_000;
const PISCINA_WARMUP = 20_000;
const PISCINA_IN_FLIGHT = 256;

const PING_WARMUP = 2_000;
const PING_ROUND_TRIPS = 20_000;

const MICRO_BATCH = 64;
const MICRO_BATCHES_PER_ITERATION = 16;

function note(text: string): void {
  process.stderr.write(`[ring] ${text}\n`);
}

function formatRate(perSecond: number): string {
  return `${(perSecond / 1e6).toFixed(2)}M/s`;
}

function newControl(): { buffer: SharedArrayBuffer; slots: Int32Array } {
  const buffer = new SharedArrayBuffer(CONTROL_BYTES);
  return { buffer, slots: new Int32Array(buffer) };
}

/** Runs one oneway system in a fresh pair of workers; returns msgs/s of each measured round. */
async function onewayWorkers(system: OnewaySystem): Promise<number[]> {
  const control = newControl();
  const rounds = [ONEWAY_WARMUP, ...Array.from({ length: ONEWAY_MEASURED }, () => ONEWAY_RECORDS)];
  const base: Omit<OnewayData, 'role'> = { system, rounds, control: control.buffer };
  let producerData: OnewayData;
  let consumerData: OnewayData;
  let producerTransfer: MessagePort[] = [];
  let consumerTransfer: MessagePort[] = [];
  let bells: { consumer: Doorbell; producer: Doorbell } | undefined;
  if (system === 'horde' || system === 'horde-nobatch') {
    bells = { consumer: Doorbell.create(), producer: Doorbell.create() };
    const ring = createRing({ consumerBell: bells.consumer, producerBell: bells.producer });
    producerData = { ...base, role: 'oneway-producer', ring, batch: HORDE_BATCH };
    consumerData = { ...base, role: 'oneway-consumer', ring };
  } else {
    const { port1, port2 } = new MessageChannel();
    producerData = { ...base, role: 'oneway-producer', port: port1, window: POST_WINDOW };
    consumerData = { ...base, role: 'oneway-consumer', port: port2 };
    producerTransfer = [port1];
    consumerTransfer = [port2];
  }
  const consumer = new BenchWorker<RingWorkerMessage>(WORKER_ENTRY, consumerData, consumerTransfer);
  await consumer.next('ready');
  const producer = new BenchWorker<RingWorkerMessage>(WORKER_ENTRY, producerData, producerTransfer);
  const rates: number[] = [];
  for (const [round, records] of rounds.entries()) {
    await producer.next('ready');
    openGate(control.slots, round);
    const [sent, received] = await Promise.all([producer.next('sent'), consumer.next('received')]);
    const seconds = Number(received.endNs - sent.startNs) / 1e9;
    const rate = records / seconds;
    const parks = bells === undefined ? '' : `; parked so far: consumer ${bells.consumer.parks}, producer ${bells.producer.parks} times`;
    note(`oneway-64B ${system} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${records} records in ${(seconds * 1e3).toFixed(1)} ms = ${formatRate(rate)}${parks}`);
    if (round > 0) rates.push(rate);
  }
  await Promise.all([producer.join(), consumer.join()]);
  return rates;
}

/**
 * piscina: the main thread keeps PISCINA_IN_FLIGHT no-op tasks queued on a pool of exactly one
 * worker and counts completed tasks per second (each task's result is checked).
 */
async function onewayPiscina(): Promise<number[]> {
  const pool = new Piscina<number, number>({ filename: NOOP_TASK, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
  try {
    const rates: number[] = [];
    const rounds = [PISCINA_WARMUP, ...Array.from({ length: ONEWAY_MEASURED }, () => PISCINA_TASKS)];
    for (const [round, tasks] of rounds.entries()) {
      const startNs = process.hrtime.bigint();
      await runTasks(pool, tasks, PISCINA_IN_FLIGHT);
      const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
      const rate = tasks / seconds;
      note(`oneway-64B piscina round ${round}${round === 0 ? ' (warm-up)' : ''}: ${tasks} tasks in ${(seconds * 1e3).toFixed(1)} ms = ${formatRate(rate)}`);
      if (round > 0) rates.push(rate);
    }
    return rates;
  } finally {
    await pool.destroy();
  }
}

function runTasks(pool: Piscina<number, number>, tasks: number, inFlight: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    const launch = (): void => {
      const seq = next++;
      pool.run(seq).then(
        (result) => {
          if (failed) return;
          if (result !== seq) {
            failed = true;
            reject(new Error(`piscina: task ${seq} returned ${String(result)}`));
            return;
          }
          done++;
          if (next < tasks) launch();
          else if (done === tasks) resolve();
        },
        (error: unknown) => {
          failed = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    };
    for (let i = 0; i < Math.min(inFlight, tasks); i++) launch();
  });
}

async function onewayCase(report: Report): Promise<void> {
  for (const system of [...ONEWAY_SYSTEMS, 'piscina'] as const) {
    const rates = system === 'piscina' ? await onewayPiscina() : await onewayWorkers(system);
    report({ case: 'oneway-64B', system, metric: 'msgs_per_s', value: Math.round(median(rates)) });
  }
}

/** Runs one pingpong system in a fresh pair of workers; returns sorted round-trip times in ns. */
async function pingpongWorkers(system: PingpongSystem, roundTrips = PING_ROUND_TRIPS, warmup = PING_WARMUP): Promise<Float64Array> {
  const control = newControl();
  const base = { system, warmup, roundTrips, control: control.buffer };
  let pingData: PingpongData;
  let pongData: PingpongData;
  let pingTransfer: MessagePort[] = [];
  let pongTransfer: MessagePort[] = [];
  let bells: { ping: Doorbell; pong: Doorbell } | undefined;
  switch (system) {
    case 'horde':
    case 'horde-nospin': {
      const pingBell = Doorbell.create();
      const pongBell = Doorbell.create();
      bells = { ping: pingBell, pong: pongBell };
      const toPong: RingHandle = createRing({ consumerBell: pongBell, producerBell: pingBell });
      const toPing: RingHandle = createRing({ consumerBell: pingBell, producerBell: pongBell });
      const spin = system === 'horde' ? undefined : 0;
      pingData = { ...base, role: 'ping', out: toPong, in: toPing, ...(spin === undefined ? {} : { spin }) };
      pongData = { ...base, role: 'pong', out: toPing, in: toPong, ...(spin === undefined ? {} : { spin }) };
      break;
    }
    case 'atomics-wait':
    case 'atomics-spin': {
      const flags = new SharedArrayBuffer(FLAG_BYTES);
      pingData = { ...base, role: 'ping', flags };
      pongData = { ...base, role: 'pong', flags };
      break;
    }
    case 'postMessage': {
      const { port1, port2 } = new MessageChannel();
      pingData = { ...base, role: 'ping', port: port1 };
      pongData = { ...base, role: 'pong', port: port2 };
      pingTransfer = [port1];
      pongTransfer = [port2];
      break;
    }
  }
  const pong = new BenchWorker<RingWorkerMessage>(WORKER_ENTRY, pongData, pongTransfer);
  await pong.next('ready');
  const ping = new BenchWorker<RingWorkerMessage>(WORKER_ENTRY, pingData, pingTransfer);
  await ping.next('ready');
  openGate(control.slots, 0);
  const { rttNs } = await ping.next('samples');
  await Promise.all([ping.join(), pong.join()]);
  if (rttNs.length !== roundTrips) throw new Error(`pingpong ${system}: got ${rttNs.length} samples`);
  if (bells !== undefined) {
    note(`pingpong ${system}: parked ping ${bells.ping.parks}, pong ${bells.pong.parks} times in ${warmup + roundTrips} round trips`);
  }
  return rttNs.sort();
}

async function pingpongCase(report: Report): Promise<void> {
  for (const system of PINGPONG_SYSTEMS) {
    const sorted = await pingpongWorkers(system);
    const p50 = percentileOfSorted(sorted, 0.5) / 1e3;
    const p99 = percentileOfSorted(sorted, 0.99) / 1e3;
    note(`pingpong ${system}: ${describeRtt(sorted)}`);
    report({ case: 'pingpong', system, metric: 'rtt_p50_us', value: round3(p50) });
    report({ case: 'pingpong', system, metric: 'rtt_p99_us', value: round3(p99) });
  }
}

function describeRtt(sorted: Float64Array): string {
  const us = (p: number): string => (percentileOfSorted(sorted, p) / 1e3).toFixed(2);
  const firstSlow = sorted.findIndex((ns) => ns > 10e3);
  const slow = firstSlow < 0 ? 0 : sorted.length - firstSlow;
  return `${sorted.length} round trips, min ${us(0)} us, p50 ${us(0.5)} us, p99 ${us(0.99)} us, max ${us(1)} us, ${slow} over 10 us`;
}

/**
 * Calibration, on stderr only: the round trip of one cache line between two threads that both
 * busy-wait on an Int32 flag. On a VM it moves with where the host puts the two vCPUs (0.2 us
 * versus 1 us was seen on the 2-core machine), and the ring's figures move with it, so the suite
 * reports it before and after its cases.
 */
async function calibrate(when: string): Promise<void> {
  const sorted = await pingpongWorkers('atomics-spin', 20_000, 2_000);
  note(`core-to-core round trip (${when}; two threads spinning on a shared flag): ${describeRtt(sorted)}`);
}

function round3(value: number): number {
  return Math.round(value * 1e3) / 1e3;
}

/**
 * write-read-64B: on one thread, write MICRO_BATCH records and read them back, repeatedly. The
 * ring copies each 64-byte payload in and checks it on the way out; the peer is a JS array used as
 * a queue (push a fresh 64-byte copy, shift it off and check it).
 */
async function writeReadCase(report: Report): Promise<void> {
  const recordsPerIteration = MICRO_BATCH * MICRO_BATCHES_PER_ITERATION;
  const payload = new Uint8Array(PAYLOAD_BYTES).map((_, i) => i);
  const ring = createRing();
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  let expected = 0;
  let seq = 0;
  const check = (bytes: Uint8Array, offset: number): void => {
    if (bytes[offset] !== (expected & 0xff) || bytes[offset + PAYLOAD_BYTES - 1] !== PAYLOAD_BYTES - 1) {
      throw new Error(`write-read-64B: record ${expected} is wrong`);
    }
    expected++;
  };
  const visit = (_kind: number, bytes: Uint8Array, offset: number): void => check(bytes, offset);
  const queue: Uint8Array[] = [];

  const bench = new Bench({ time: 700, warmupTime: 200, throws: true });
  bench.add('horde', () => {
    for (let b = 0; b < MICRO_BATCHES_PER_ITERATION; b++) {
      for (let i = 0; i < MICRO_BATCH; i++) {
        payload[0] = seq++;
        const offset = writer.reserve(RECORD_KIND, PAYLOAD_BYTES);
        if (offset < 0) throw new Error('write-read-64B: ring full');
        writer.bytes.set(payload, offset);
      }
      writer.publish();
      if (reader.drain(visit) !== MICRO_BATCH) throw new Error('write-read-64B: short drain');
    }
  });
  bench.add('array', () => {
    for (let b = 0; b < MICRO_BATCHES_PER_ITERATION; b++) {
      for (let i = 0; i < MICRO_BATCH; i++) {
        payload[0] = seq++;
        queue.push(payload.slice());
      }
      for (let i = 0; i < MICRO_BATCH; i++) {
        const record = queue.shift();
        if (record === undefined) throw new Error('write-read-64B: queue empty');
        check(record, 0);
      }
    }
  });
  await bench.run();
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`write-read-64B ${task.name}: ${result.state}`);
    const opsPerSecond = (1000 / result.period) * recordsPerIteration;
    note(`write-read-64B ${task.name}: ${task.runs} iterations of ${recordsPerIteration} records, ${formatRate(opsPerSecond)}`);
    report({ case: 'write-read-64B', system: task.name, metric: 'ops_per_s', value: Math.round(opsPerSecond) });
  }
}

export async function run(report: Report): Promise<void> {
  await calibrate('before');
  await onewayCase(report);
  await pingpongCase(report);
  await writeReadCase(report);
  await calibrate('after');
}
