/**
 * Suite `codec`: encoding a message on one side of a thread boundary and decoding it on the other,
 * on one thread (tinybench micro-benchmark), with the peers side by side.
 *
 * Case `small-2field`: encode + decode pairs per second of `{seq: 42, name: 'counter'}`.
 *
 * | system             | what one pair is                                                       |
 * | ------------------ | ---------------------------------------------------------------------- |
 * | horde              | encodeEnvelope into a ring (JSON payload), publish per batch, drain + decodeEnvelope |
 * | horde-typed        | the same with the message typed as a registered protobuf type            |
 * | horde-header       | the same with no payload: the fixed DataView header alone               |
 * | horde-json         | encodePayload + decodePayload, JSON path (scan, stringify, UTF-8 both ways) |
 * | horde-protobuf     | encodePayload + decodePayload, protobuf path (verify, encode, decode, toObject) |
 * | naive-json         | JSON.stringify + TextEncoder.encode, TextDecoder.decode + JSON.parse    |
 * | v8-serialize       | v8.serialize + v8.deserialize                                           |
 *
 * Every pair checks what it decoded, so nothing is optimised away and a broken codec fails the run.
 * Ring systems write BATCH envelopes, publish once and drain them (as an executor does per pass).
 */

import { Bench } from 'tinybench';
import v8 from 'node:v8';
import { Signal, decodeEnvelope, encodeEnvelope, type Envelope } from '../src/codec/envelope.js';
import { decodePayload, encodePayload } from '../src/codec/payload.js';
import { registerMessageType, typed } from '../src/codec/protobuf.js';
import { pid } from '../src/process/pid.js';
import { RingReader, RingWriter, createRing } from '../src/ring/ring.js';
import type { Report } from './support/report.js';

const BATCH = 64;
const BATCHES_PER_ITERATION = 16;
const PAIRS_PER_ITERATION = BATCH * BATCHES_PER_ITERATION;

const COUNTER_PROTO = `syntax = "proto3";
package horde.bench;
message Counter {
  uint32 seq = 1;
  string name = 2;
}
`;

interface Counter {
  seq: number;
  name: string;
}

function note(text: string): void {
  process.stderr.write(`[codec] ${text}\n`);
}

function check(value: unknown): void {
  const counter = value as Counter | undefined;
  if (counter?.seq !== 42 || counter.name !== 'counter') throw new Error(`codec bench: decoded ${JSON.stringify(value)}`);
}

/** A ring, its two ends and a function that sends BATCH copies of `envelope` through them. */
function ringPair(envelope: Envelope, verify: (decoded: Envelope) => void): () => void {
  const ring = createRing();
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  const visit = (_kind: number, bytes: Uint8Array, offset: number, length: number): void => verify(decodeEnvelope(bytes, offset, length));
  return () => {
    for (let i = 0; i < BATCH; i++) {
      if (!encodeEnvelope(writer, envelope)) throw new Error('codec bench: ring full');
    }
    writer.publish();
    if (reader.drain(visit) !== BATCH) throw new Error('codec bench: short drain');
  };
}

export async function run(report: Report): Promise<void> {
  const counterType = registerMessageType('horde.bench.Counter', COUNTER_PROTO);
  const message: Counter = { seq: 42, name: 'counter' };
  const typedMessage = typed(counterType, message);
  const to = pid(0, 3, 7 * 65536 + 2);
  const from = pid(0, 1, 9 * 65536 + 1);
  const envelope: Envelope = { signal: Signal.USER, to, from, ref: 0, payload: message };
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  const horde = ringPair(envelope, (decoded) => check(decoded.payload));
  const hordeTyped = ringPair({ ...envelope, payload: typedMessage }, (decoded) => check(decoded.payload));
  const hordeHeader = ringPair({ ...envelope, payload: undefined }, (decoded) => {
    if (decoded.to.serial !== to.serial || decoded.from?.serial !== from.serial) throw new Error('codec bench: wrong header');
  });
  const payloadPair = (value: unknown) => (): void => {
    for (let i = 0; i < BATCH; i++) {
      const encoded = encodePayload(value);
      check(decodePayload(encoded.encoding, encoded.typeId, encoded.bytes, 0, encoded.length));
    }
  };

  const systems: Record<string, () => void> = {
    horde,
    'horde-typed': hordeTyped,
    'horde-header': hordeHeader,
    'horde-json': payloadPair(message),
    'horde-protobuf': payloadPair(typedMessage),
    'naive-json': () => {
      for (let i = 0; i < BATCH; i++) check(JSON.parse(decoder.decode(encoder.encode(JSON.stringify(message)))));
    },
    'v8-serialize': () => {
      for (let i = 0; i < BATCH; i++) check(v8.deserialize(v8.serialize(message)));
    },
  };

  const bench = new Bench({ time: 700, warmupTime: 200, throws: true });
  for (const [name, pairs] of Object.entries(systems)) {
    bench.add(name, () => {
      for (let b = 0; b < BATCHES_PER_ITERATION; b++) pairs();
    });
  }
  await bench.run();
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`small-2field ${task.name}: ${result.state}`);
    const pairsPerSecond = (1000 / result.period) * PAIRS_PER_ITERATION;
    note(`small-2field ${task.name}: ${task.runs} iterations of ${PAIRS_PER_ITERATION} pairs, ${(pairsPerSecond / 1e6).toFixed(2)}M pairs/s`);
    report({ case: 'small-2field', system: task.name, metric: 'pairs_per_s', value: Math.round(pairsPerSecond) });
  }
}
