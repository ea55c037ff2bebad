/**
 * Worker threads of the large suite (bench/large.ts): a producer and a consumer per system.
 *
 * Every message carries its sequence number in its first four bytes (in the first characters of
 * a string); the consumer checks it, the length and the last byte of each, and throws (failing the
 * run) on a mismatch. The producer takes process.hrtime.bigint() before a round's first message,
 * the consumer after its check of the last one. Rounds start when the consumer asks for them
 * (`ready`), so a round is timed from an idle pair.
 *
 * horde: the producer sends each message with Outbound.sendBytes (one record per message, in
 * chunks of a quarter of the 1 MiB ring; what does not fit waits in the overflow) and, while the
 * overflow holds anything, moves it on as the consumer frees room, parking on its doorbell in
 * between (as an executor does); the consumer reads with InboundRings through `reassembling` (as
 * every thread of a node does) and parks when the ring is empty.
 */

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { Doorbell, InboundRings, type RingHandle } from '../src/index.js';
import { RECORD_ENVELOPE } from '../src/codec/envelope.js';
import { reassembling } from '../src/participant/chunks.js';
import { Outbound } from '../src/participant/outbound.js';
import { CONSUMED_SLOT, POST_WINDOW, type LargeWorkerData, type LargeWorkerMessage } from './large-protocol.js';

const data = workerData as LargeWorkerData;
const control = new Int32Array(data.control);
/** A second flag the producer waits on between rounds (the consumer's `ready`). */
const roundFlag = new Int32Array(data.control, 16, 1);

function post(message: LargeWorkerMessage): void {
  parentPort!.postMessage(message);
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${data.role} (${data.system}) needs workerData.${what}`);
  return value;
}

function payload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i >>> 12) & 0xff;
  bytes[size - 1] = 0x5a;
  return bytes;
}

function check(bytes: Uint8Array, offset: number, length: number, expected: number): void {
  const seq = (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
  if (length !== data.size || seq !== expected || bytes[offset + length - 1] !== 0x5a) {
    throw new Error(`${data.system}: message ${expected} is wrong (length ${length}, sequence number ${seq})`);
  }
}

function stamp(bytes: Uint8Array, seq: number): void {
  bytes[0] = seq;
  bytes[1] = seq >>> 8;
  bytes[2] = seq >>> 16;
  bytes[3] = seq >>> 24;
}

/** Producer: waits until the consumer opened round `round` (it bumps the flag when it is ready). */
function awaitRound(round: number): void {
  while (Atomics.load(roundFlag, 0) <= round) Atomics.wait(roundFlag, 0, round, 100);
}

function openRound(round: number): void {
  Atomics.store(roundFlag, 0, round + 1);
  Atomics.notify(roundFlag, 0);
}

function produceHorde(ring: RingHandle): void {
  const bell = new Doorbell(ring.producerBell);
  const outbound = new Outbound([ring], { overflowLimit: 1024, maxMessageBytes: 1 << 30 });
  const bytes = payload(data.size);
  let seq = 0;
  data.rounds.forEach((count, round) => {
    awaitRound(round);
    post({ type: 'sent', startNs: process.hrtime.bigint() });
    for (let i = 0; i < count; i++) {
      stamp(bytes, seq++);
      outbound.sendBytes(0, bytes, 0, bytes.length, RECORD_ENVELOPE);
      outbound.publish();
      while (outbound.congested) {
        bell.prepareToPark();
        if (outbound.canFlush()) bell.cancelPark();
        else bell.park();
        outbound.flushOverflow(() => undefined);
      }
    }
  });
}

function consumeHorde(ring: RingHandle): void {
  const bell = new Doorbell(ring.consumerBell);
  let expected = 0;
  let inRound = 0;
  const inbound = new InboundRings(
    bell,
    reassembling(
      (_ring, _kind, bytes, offset, length) => {
        check(bytes, offset, length, expected++);
        inRound++;
      },
      1 << 30,
      (error) => {
        throw error;
      },
    ),
  );
  inbound.add(ring);
  data.rounds.forEach((count, round) => {
    inRound = 0;
    openRound(round);
    while (inRound < count) {
      if (inbound.poll() === 0) inbound.waitForWork();
    }
    post({ type: 'received', endNs: process.hrtime.bigint() });
  });
}

function producePost(): void {
  const port = need(data.port, 'port');
  const bytes = payload(data.size);
  const text = data.system === 'postMessage-string' ? 'x'.repeat(data.size) : '';
  let seq = 0;
  data.rounds.forEach((count, round) => {
    awaitRound(round);
    post({ type: 'sent', startNs: process.hrtime.bigint() });
    for (let i = 0; i < count; i++) {
      while (seq - Atomics.load(control, CONSUMED_SLOT) >= POST_WINDOW) Atomics.wait(control, CONSUMED_SLOT, Atomics.load(control, CONSUMED_SLOT), 100);
      if (data.system === 'postMessage-string') {
        port.postMessage(`${String(seq).padStart(10, '0')}${text.slice(10)}`);
      } else if (data.system === 'postMessage-transfer') {
        // Ownership moves with the buffer: every message needs a buffer of its own.
        const own = bytes.slice();
        stamp(own, seq);
        port.postMessage(own, [own.buffer]);
      } else {
        stamp(bytes, seq);
        port.postMessage(bytes);
      }
      seq++;
    }
  });
}

async function consumePost(): Promise<void> {
  const port = need(data.port, 'port');
  let expected = 0;
  for (const [round, count] of data.rounds.entries()) {
    openRound(round);
    for (let i = 0; i < count; ) {
      const received = receiveMessageOnPort(port);
      if (received === undefined) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const message = received.message as Uint8Array | string;
      if (typeof message === 'string') {
        if (message.length !== data.size || Number(message.slice(0, 10)) !== expected) throw new Error(`postMessage-string: message ${expected} is wrong`);
        expected++;
      } else {
        check(message, 0, message.length, expected++);
      }
      i++;
      Atomics.add(control, CONSUMED_SLOT, 1);
      Atomics.notify(control, CONSUMED_SLOT);
    }
    post({ type: 'received', endNs: process.hrtime.bigint() });
  }
}

post({ type: 'ready' });
if (data.system === 'horde') {
  if (data.role === 'producer') produceHorde(need(data.ring, 'ring'));
  else consumeHorde(need(data.ring, 'ring'));
} else if (data.role === 'producer') {
  producePost();
} else {
  await consumePost();
}
