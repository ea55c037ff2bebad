// The main thread's endpoint taking run records (RECORD_ENVELOPES) apart: a run of USER envelopes
// for one other node goes to `remote` whole; anything else envelope by envelope; a run cut short
// delivers its whole envelopes and reports the rest as malformed.
import { describe, expect, it } from 'vitest';
import { RECORD_ENVELOPES, Signal, encodeEnvelopeToBytes, type Envelope } from '../../src/codec/envelope.js';
import { AsyncEndpoint } from '../../src/participant/async-endpoint.js';
import { pid } from '../../src/process/pid.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import { RingWriter, createRing } from '../../src/ring/ring.js';

const LOCAL = 1;

function bytesOf(node: number, seq: number, signal: Signal = Signal.USER): Uint8Array {
  return encodeEnvelopeToBytes({ signal, to: pid(node, 0, 9), from: pid(LOCAL, 0, 8), ref: signal === Signal.MONITOR ? 5 : 0, payload: seq });
}

function run(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

describe('AsyncEndpoint and run records', () => {
  it('forwards whole runs for one node, takes other runs apart, and reports a run cut short', async () => {
    const handle = createRing({ capacity: 1 << 16 });
    const writer = new RingWriter(handle);
    const remote: { node: number; run: boolean; length: number }[] = [];
    const local: Envelope[] = [];
    const malformed: unknown[] = [];
    const endpoint = new AsyncEndpoint(
      Doorbell.create(),
      [handle],
      [undefined],
      { overflowLimit: 100, maxMessageBytes: 1 << 20 },
      {
        envelope: (envelope) => local.push(envelope),
        malformed: (error) => malformed.push(error),
        dropped: () => undefined,
        remote: (bytes, offset, length, isRun) => remote.push({ node: bytes[offset + 4]!, run: isRun, length }),
      },
      LOCAL,
    );
    const whole = run(bytesOf(2, 1), bytesOf(2, 2), bytesOf(2, 3));
    const records = [
      whole,
      run(bytesOf(2, 4), bytesOf(3, 5)),
      run(bytesOf(2, 6), bytesOf(LOCAL, 7)),
      run(bytesOf(2, 8, Signal.MONITOR), bytesOf(2, 9)),
      run(bytesOf(3, 10), bytesOf(3, 11)).subarray(0, bytesOf(3, 10).length + 20),
    ];
    for (const record of records) writer.bytes.set(record, writer.reserve(RECORD_ENVELOPES, record.length));
    writer.publish();
    endpoint.start();
    for (let i = 0; i < 200 && malformed.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await endpoint.close();
    expect(remote).toEqual([
      { node: 2, run: true, length: whole.length },
      { node: 2, run: false, length: bytesOf(2, 4).length },
      { node: 3, run: false, length: bytesOf(3, 5).length },
      { node: 2, run: false, length: bytesOf(2, 6).length },
      { node: 2, run: false, length: bytesOf(2, 8, Signal.MONITOR).length },
      { node: 2, run: false, length: bytesOf(2, 9).length },
      { node: 3, run: false, length: bytesOf(3, 10).length },
    ]);
    expect(local.map((e) => e.payload)).toEqual([7]);
    expect(malformed).toHaveLength(1);
    expect(malformed[0]).toMatchObject({ code: 'HORDE_MALFORMED_ENVELOPE' });
  });
});
