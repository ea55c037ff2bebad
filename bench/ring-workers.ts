/**
 * Worker threads of the ring suite (bench/ring.ts): one role per worker, chosen by workerData.
 *
 * Every consumer checks every record it gets: the count, the sequence number in the first four
 * bytes (little-endian; sequence numbers run on across rounds) and the last payload byte, and
 * throws (failing the run) on the first mismatch, so a system cannot look fast by losing records.
 *
 * Timing: a producer takes process.hrtime.bigint() just before its first record of a round and a
 * consumer just after it has checked the last one; the clock is the same monotonic clock in every
 * thread of the process, so the main thread subtracts the two. Workers post to the main thread
 * only at round boundaries, and exit by themselves when done.
 */

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { DEFAULT_SPIN_CHECKS, Doorbell, InboundRings, RingWriter } from '../src/index.js';
import {
  ControlSlot,
  FlagSlot,
  PAYLOAD_BYTES,
  POST_BATCH,
  RECORD_KIND,
  waitAtGate,
  type OnewayData,
  type PingpongData,
  type RingWorkerData,
  type RingWorkerMessage,
} from './ring-protocol.js';

const data = workerData as RingWorkerData;
const control = new Int32Array(data.control);

/** Credit updates from postMessage consumers: one per this many records. */
const ACK_EVERY = 1024;
/** The constant payload string of system `postMessage` (64 one-byte characters). */
const TEXT_PAYLOAD = 'horde-bench-'.padEnd(PAYLOAD_BYTES, '.');

function post(message: RingWorkerMessage): void {
  if (parentPort === null) throw new Error('ring-workers.ts must run in a worker thread');
  parentPort.postMessage(message);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${data.role} (${data.system}) needs workerData.${what}`);
  return value;
}

/** A 64-byte payload whose byte i is i; bytes 0..3 are overwritten by the sequence number. */
function makePayload(records = 1): Uint8Array {
  const payload = new Uint8Array(records * PAYLOAD_BYTES);
  for (let i = 0; i < payload.length; i++) payload[i] = i % PAYLOAD_BYTES;
  return payload;
}

function writeSeq(bytes: Uint8Array, offset: number, seq: number): void {
  bytes[offset] = seq;
  bytes[offset + 1] = seq >>> 8;
  bytes[offset + 2] = seq >>> 16;
  bytes[offset + 3] = seq >>> 24;
}

function readSeq(bytes: Uint8Array, offset: number): number {
  // `?? 0` only satisfies the type checker: reads within a typed array's length are never undefined.
  const b0 = bytes[offset] ?? 0;
  const b1 = bytes[offset + 1] ?? 0;
  const b2 = bytes[offset + 2] ?? 0;
  const b3 = bytes[offset + 3] ?? 0;
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

function checkRecord(bytes: Uint8Array, offset: number, length: number, expected: number): void {
  const seq = readSeq(bytes, offset);
  if (length !== PAYLOAD_BYTES || seq !== expected || bytes[offset + PAYLOAD_BYTES - 1] !== PAYLOAD_BYTES - 1) {
    throw new Error(`${data.system}: record ${expected} is wrong (length ${length}, sequence number ${seq})`);
  }
}

/**
 * A producer whose ring is full: spins on TAIL for as long as a consumer spins on HEAD, then
 * parks on its own doorbell after asking the consumer to ring it (the protocol of
 * RingWriter.writeOrPark, which exists only for one record at a time).
 */
function waitForSpace(writer: RingWriter, bell: Doorbell, length: number): void {
  for (let i = 0; i < DEFAULT_SPIN_CHECKS; i++) {
    if (writer.hasSpaceFor(length)) return;
  }
  for (;;) {
    if (writer.requestSpace(length)) return;
    bell.prepareToPark();
    if (writer.hasSpaceFor(length)) {
      bell.cancelPark();
      return;
    }
    bell.park();
  }
}

/** postMessage producers: blocks while `window` records are sent but not yet taken. */
function waitForCredit(sent: number, window: number): number {
  for (;;) {
    const consumed = Atomics.load(control, ControlSlot.CONSUMED);
    if (sent - consumed < window) return consumed;
    Atomics.wait(control, ControlSlot.CONSUMED, consumed);
  }
}

type Sender = (first: number, count: number) => void;

function onewaySender(d: OnewayData): Sender {
  switch (d.system) {
    case 'horde': {
      const ring = need(d.ring, 'ring');
      const batch = need(d.batch, 'batch');
      const writer = new RingWriter(ring);
      const bell = new Doorbell(ring.producerBell);
      const bytes = writer.bytes;
      const payload = makePayload();
      return (first, count) => {
        const end = first + count;
        let seq = first;
        while (seq < end) {
          const stop = Math.min(end, seq + batch);
          const batchStart = seq;
          while (seq < stop) {
            const offset = writer.reserve(RECORD_KIND, PAYLOAD_BYTES);
            if (offset < 0) break;
            writeSeq(payload, 0, seq);
            bytes.set(payload, offset);
            seq++;
          }
          if (seq > batchStart) writer.publish();
          if (seq < stop) waitForSpace(writer, bell, PAYLOAD_BYTES);
        }
      };
    }
    case 'horde-nobatch': {
      const ring = need(d.ring, 'ring');
      const writer = new RingWriter(ring);
      const bell = new Doorbell(ring.producerBell);
      const payload = makePayload();
      return (first, count) => {
        const end = first + count;
        let seq = first;
        while (seq < end) {
          writeSeq(payload, 0, seq);
          if (writer.tryWrite(RECORD_KIND, payload)) seq++;
          else waitForSpace(writer, bell, PAYLOAD_BYTES);
        }
      };
    }
    case 'postMessage': {
      const port = need(d.port, 'port');
      const window = need(d.window, 'window');
      let consumed = 0;
      return (first, count) => {
        for (let seq = first, end = first + count; seq < end; seq++) {
          if (seq - consumed >= window) consumed = waitForCredit(seq, window);
          port.postMessage({ seq, payload: TEXT_PAYLOAD });
        }
      };
    }
    case 'postMessage-u8': {
      const port = need(d.port, 'port');
      const window = need(d.window, 'window');
      // Posted as is, so structured clone copies its 64-byte ArrayBuffer each time (no transfer).
      const payload = makePayload();
      let consumed = 0;
      return (first, count) => {
        for (let seq = first, end = first + count; seq < end; seq++) {
          if (seq - consumed >= window) consumed = waitForCredit(seq, window);
          writeSeq(payload, 0, seq);
          port.postMessage(payload);
        }
      };
    }
    case 'postMessage-batch256': {
      const port = need(d.port, 'port');
      const window = need(d.window, 'window');
      // One 16 KiB buffer of 256 records per message, copied by structured clone.
      const full = makePayload(POST_BATCH);
      let consumed = 0;
      return (first, count) => {
        const end = first + count;
        let seq = first;
        while (seq < end) {
          const records = Math.min(POST_BATCH, end - seq);
          if (seq + records - consumed > window) consumed = waitForCredit(seq + records - 1, window);
          // A short last batch gets a buffer of its own: posting a view would copy all 16 KiB.
          const message = records === POST_BATCH ? full : makePayload(records);
          for (let r = 0; r < records; r++) writeSeq(message, r * PAYLOAD_BYTES, seq + r);
          port.postMessage(message);
          seq += records;
        }
      };
    }
  }
}

function onewayProducer(d: OnewayData): void {
  const send = onewaySender(d);
  let seq = 0;
  for (const [round, count] of d.rounds.entries()) {
    post({ type: 'ready', round });
    waitAtGate(control, round);
    const startNs = process.hrtime.bigint();
    send(seq, count);
    seq += count;
    post({ type: 'sent', round, startNs });
  }
}

/** Calls `onRecords` for every record taken; posts 'received' at the end of each round. */
function roundCounter(rounds: readonly number[]): { total: number; taken: (records: number) => void } {
  let round = 0;
  let taken = 0;
  let boundary = rounds[0] ?? 0;
  const total = rounds.reduce((sum, count) => sum + count, 0);
  return {
    total,
    taken(records) {
      taken += records;
      while (taken >= boundary && round < rounds.length) {
        if (taken > boundary) throw new Error(`${data.system}: round ${round} got more records than were sent`);
        post({ type: 'received', round, endNs: process.hrtime.bigint() });
        round++;
        boundary += rounds[round] ?? 0;
      }
    },
  };
}

function onewayConsumer(d: OnewayData): void {
  const rounds = roundCounter(d.rounds);
  let expected = 0;
  if (d.system === 'horde' || d.system === 'horde-nobatch') {
    const ring = need(d.ring, 'ring');
    const inbound = new InboundRings(new Doorbell(ring.consumerBell), (_ring, kind, bytes, offset, length) => {
      if (kind !== RECORD_KIND) throw new Error(`${d.system}: record ${expected} has kind ${kind}`);
      checkRecord(bytes, offset, length, expected);
      expected++;
      rounds.taken(1);
    });
    inbound.add(ring);
    post({ type: 'ready', round: 0 });
    while (expected < rounds.total) {
      if (inbound.poll() === 0) inbound.waitForWork();
    }
    return;
  }
  const port = need(d.port, 'port');
  let acked = 0;
  const take = (records: number): void => {
    expected += records;
    if (expected - acked >= ACK_EVERY || expected === rounds.total) {
      acked = expected;
      Atomics.store(control, ControlSlot.CONSUMED, expected);
      Atomics.notify(control, ControlSlot.CONSUMED);
    }
    rounds.taken(records);
    if (expected === rounds.total) port.close();
  };
  port.on('message', (message: unknown) => {
    if (d.system === 'postMessage') {
      const { seq, payload } = message as { seq?: unknown; payload?: unknown };
      if (seq !== expected || typeof payload !== 'string' || payload.length !== PAYLOAD_BYTES) {
        throw new Error(`postMessage: message ${expected} is wrong (seq ${String(seq)})`);
      }
      take(1);
      return;
    }
    if (!(message instanceof Uint8Array) || message.length === 0 || message.length % PAYLOAD_BYTES !== 0) {
      throw new Error(`${d.system}: message at record ${expected} is not a whole number of records`);
    }
    const records = message.length / PAYLOAD_BYTES;
    for (let r = 0; r < records; r++) checkRecord(message, r * PAYLOAD_BYTES, PAYLOAD_BYTES, expected + r);
    take(records);
  });
  post({ type: 'ready', round: 0 });
}

function ping(d: PingpongData): void {
  const total = d.warmup + d.roundTrips;
  const rttNs = new Float64Array(d.roundTrips);
  const payload = makePayload();
  const record = (i: number, startNs: bigint, endNs: bigint): void => {
    if (i >= d.warmup) rttNs[i - d.warmup] = Number(endNs - startNs);
  };
  post({ type: 'ready', round: 0 });
  waitAtGate(control, 0);
  switch (d.system) {
    case 'horde':
    case 'horde-nospin': {
      const inRing = need(d.in, 'in');
      const writer = new RingWriter(need(d.out, 'out'));
      let current = 0;
      let answered = -1;
      const inbound = new InboundRings(new Doorbell(inRing.consumerBell), (_ring, _kind, bytes, offset, length) => {
        checkRecord(bytes, offset, length, current);
        answered = current;
      });
      inbound.add(inRing);
      const wait = d.spin === undefined ? {} : { spin: d.spin };
      for (; current < total; current++) {
        writeSeq(payload, 0, current);
        const startNs = process.hrtime.bigint();
        if (!writer.tryWrite(RECORD_KIND, payload)) throw new Error('ping ring full');
        while (answered !== current) {
          if (inbound.poll() === 0) inbound.waitForWork(wait);
        }
        record(current, startNs, process.hrtime.bigint());
      }
      post({ type: 'samples', rttNs });
      return;
    }
    case 'atomics-wait':
    case 'atomics-spin': {
      const flags = new Int32Array(need(d.flags, 'flags'));
      const sleep = d.system === 'atomics-wait';
      for (let i = 0; i < total; i++) {
        const seq = i + 1;
        const startNs = process.hrtime.bigint();
        Atomics.store(flags, FlagSlot.PING, seq);
        if (sleep) Atomics.notify(flags, FlagSlot.PING);
        for (;;) {
          const pong = Atomics.load(flags, FlagSlot.PONG);
          if (pong === seq) break;
          if (pong !== i) throw new Error(`${d.system}: pong ${pong} while waiting for ${seq}`);
          if (sleep) Atomics.wait(flags, FlagSlot.PONG, pong);
        }
        record(i, startNs, process.hrtime.bigint());
      }
      post({ type: 'samples', rttNs });
      return;
    }
    case 'postMessage': {
      const port = need(d.port, 'port');
      let current = 0;
      let startNs = 0n;
      const send = (): void => {
        writeSeq(payload, 0, current);
        startNs = process.hrtime.bigint();
        port.postMessage(payload);
      };
      port.on('message', (message: unknown) => {
        const endNs = process.hrtime.bigint();
        if (!(message instanceof Uint8Array)) throw new Error('postMessage: pong is not a Uint8Array');
        checkRecord(message, 0, message.length, current);
        record(current, startNs, endNs);
        current++;
        if (current < total) {
          send();
        } else {
          post({ type: 'samples', rttNs });
          port.close();
        }
      });
      send();
      return;
    }
  }
}

function pong(d: PingpongData): void {
  const total = d.warmup + d.roundTrips;
  switch (d.system) {
    case 'horde':
    case 'horde-nospin': {
      const inRing = need(d.in, 'in');
      const writer = new RingWriter(need(d.out, 'out'));
      const payload = makePayload();
      let echoed = 0;
      const inbound = new InboundRings(new Doorbell(inRing.consumerBell), (_ring, _kind, bytes, offset, length) => {
        checkRecord(bytes, offset, length, echoed);
        writeSeq(payload, 0, echoed);
        if (!writer.tryWrite(RECORD_KIND, payload)) throw new Error('pong ring full');
        echoed++;
      });
      inbound.add(inRing);
      const wait = d.spin === undefined ? {} : { spin: d.spin };
      post({ type: 'ready', round: 0 });
      while (echoed < total) {
        if (inbound.poll() === 0) inbound.waitForWork(wait);
      }
      return;
    }
    case 'atomics-wait':
    case 'atomics-spin': {
      const flags = new Int32Array(need(d.flags, 'flags'));
      const sleep = d.system === 'atomics-wait';
      post({ type: 'ready', round: 0 });
      let last = 0;
      while (last < total) {
        const seq = Atomics.load(flags, FlagSlot.PING);
        if (seq === last) {
          if (sleep) Atomics.wait(flags, FlagSlot.PING, last);
          continue;
        }
        if (seq !== last + 1) throw new Error(`${d.system}: ping ${seq} after ${last}`);
        last = seq;
        Atomics.store(flags, FlagSlot.PONG, seq);
        if (sleep) Atomics.notify(flags, FlagSlot.PONG);
      }
      return;
    }
    case 'postMessage': {
      // The pinger closes the channel after the last pong, which lets this worker exit.
      const port: MessagePort = need(d.port, 'port');
      let echoed = 0;
      port.on('message', (message: unknown) => {
        if (!(message instanceof Uint8Array)) throw new Error('postMessage: ping is not a Uint8Array');
        checkRecord(message, 0, message.length, echoed);
        port.postMessage(message);
        echoed++;
      });
      post({ type: 'ready', round: 0 });
      return;
    }
  }
}

function runRole(d: RingWorkerData): void {
  switch (d.role) {
    case 'oneway-producer':
      onewayProducer(d);
      return;
    case 'oneway-consumer':
      onewayConsumer(d);
      return;
    case 'ping':
      ping(d);
      return;
    case 'pong':
      pong(d);
      return;
  }
}

runRole(data);
