// The delivery session alone: batching, one batch in flight, acks, resend after a reconnect,
// dedup of resent batches, fragment reassembly, and what is lost when a session ends.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEnvelopeToBytes, Signal } from '../../src/codec/envelope.js';
import { forEachEnvelope } from '../../src/codec/envelope-header.js';
import { Lane } from '../../src/cluster/lane.js';
import { BULK_BYTES, LaneId, Session } from '../../src/cluster/session.js';
import { PeerWatches } from '../../src/cluster/watches.js';
import { pid } from '../../src/process/pid.js';

function envelope(n: number): Uint8Array {
  return encodeEnvelopeToBytes({ signal: Signal.USER, to: pid(2, 0, 65536), from: pid(1, 0, 65536), ref: 0, payload: { n } });
}

function numbers(data: Uint8Array): number[] {
  const out: number[] = [];
  forEachEnvelope(data, (offset, length) => {
    const text = Buffer.from(data.subarray(offset + 40, offset + length)).toString();
    out.push((JSON.parse(text) as { n: number }).n);
  });
  return out;
}

describe('Lane', () => {
  it('keeps one batch in flight and coalesces the rest into the next', () => {
    const session = new Lane(4096, 1 << 20);
    session.enqueue(envelope(1), 0, envelope(1).length);
    const first = session.takeBatch()!;
    expect(numbers(first.data)).toEqual([1]);
    for (let n = 2; n <= 5; n++) session.enqueue(envelope(n), 0, envelope(n).length);
    expect(session.takeBatch()).toBeUndefined();
    expect(session.acknowledge(first.seq)).toBe(true);
    const second = session.takeBatch()!;
    expect(second.seq).toBe(first.seq + 1);
    expect(numbers(second.data)).toEqual([2, 3, 4, 5]);
  });

  it('delivers exactly once and in order whatever is resent, duplicated or cut into fragments', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 200 }), (bursts, drops, fragment) => {
        const sender = new Lane(512, 1 << 20);
        const receiver = new Lane(512, 1 << 20);
        const scratch = new Uint8Array(4096);
        let next = 1;
        const delivered: number[] = [];
        let dropIndex = 0;
        for (const burst of bursts) {
          for (let i = 0; i < burst; i++) {
            const bytes = envelope(next++);
            sender.enqueue(bytes, 0, bytes.length);
          }
          for (let batch = sender.inflight ?? sender.takeBatch(); batch !== undefined; batch = sender.inflight ?? sender.takeBatch()) {
            // Send it in fragments; a drop loses the rest of this attempt (a broken connection).
            let lost = false;
            for (let at = 0; at < batch.data.length && !lost; at += fragment) {
              const end = Math.min(batch.data.length, at + fragment);
              if (drops[dropIndex++ % Math.max(1, drops.length)] === true && dropIndex < drops.length) {
                lost = true;
                receiver.dropPartial();
                break;
              }
              // Frames are views valid only during the call (FrameDecoder reuses its buffer).
              const frame = scratch.subarray(0, end - at);
              frame.set(batch.data.subarray(at, end));
              const whole = receiver.receive(batch.seq, frame, end === batch.data.length);
              if (whole !== undefined) {
                if (!(whole instanceof Uint8Array)) throw new Error('a batch within the limit was dropped');
                delivered.push(...numbers(whole));
                receiver.delivered(batch.seq);
              }
              scratch.fill(0xee);
            }
            if (lost) {
              sender.resume(receiver.receivedSeq);
              continue;
            }
            // The ack may be lost too: then the batch is resent and must be dropped as a duplicate.
            if (drops[dropIndex++ % Math.max(1, drops.length)] === true && dropIndex < drops.length) {
              sender.resume(receiver.receivedSeq);
              const again = sender.inflight;
              if (again !== undefined) expect(receiver.receive(again.seq, again.data, true)).toBeUndefined();
            }
            sender.acknowledge(receiver.receivedSeq);
          }
        }
        expect(delivered).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
      }),
      { numRuns: 200 },
    );
  });

  it('drops a batch larger than the limit (handing back its first envelope header once it is whole), and refuses a gap in sequence numbers', () => {
    const receiver = new Lane(512, 100);
    const large = envelope(7);
    const big = new Uint8Array(150);
    big.set(large);
    expect(receiver.receive(1, big.subarray(0, 60), false)).toBeUndefined();
    expect(receiver.receive(1, big.subarray(60, 120), false), 'past the limit: dropped, not kept').toBeUndefined();
    expect(receiver.receive(1, big.subarray(120), true)).toEqual({ head: large.subarray(0, 40), bytes: 150 });
    receiver.delivered(1);
    expect(receiver.receive(1, big, true), 'its resend is a duplicate').toBeUndefined();
    expect(receiver.duplicates).toBe(1);
    const next = envelope(8);
    expect(receiver.receive(2, next, true), 'the next batch is read as usual').toEqual(next);
    const other = new Lane(512, 1000);
    expect(() => other.receive(2, envelope(1), true)).toThrow(expect.objectContaining({ code: 'HORDE_MALFORMED_FRAME' }) as Error);
  });

  it('counts what it loses when it ends', () => {
    const session = new Lane(256, 1 << 20);
    for (let n = 1; n <= 7; n++) session.enqueue(envelope(n), 0, envelope(n).length);
    session.takeBatch();
    expect(session.discard()).toBe(7);
    expect(session.queuedBytes).toBe(0);
  });
});

function from(sender: number, n: number, bytes: number): Uint8Array {
  const padding = 'p'.repeat(Math.max(0, bytes - 80));
  return encodeEnvelopeToBytes({ signal: Signal.USER, to: pid(2, 0, 65536), from: pid(1, 0, 65536 * (sender + 1)), ref: 0, payload: { n, s: sender, padding } });
}

function senderAndNumber(data: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  forEachEnvelope(data, (offset, length) => {
    const message = JSON.parse(Buffer.from(data.subarray(offset + 40, offset + length)).toString()) as { n: number; s: number };
    out.push([message.s, message.n]);
  });
  return out;
}

describe('Session lanes', () => {
  it('takes a run of small envelopes into REGULAR whole, and apart while bulk traffic is under way', () => {
    const run = Buffer.concat([envelope(1), envelope(2), envelope(3)]);
    const session = new Session('peer', 1 << 16, 1 << 20);
    session.enqueue(run, 0, run.length, true);
    expect(numbers(session.lanes[LaneId.REGULAR].takeBatch()!.data)).toEqual([1, 2, 3]);

    const busy = new Session('peer', 1 << 16, 1 << 20);
    const big = encodeEnvelopeToBytes({ signal: Signal.USER, to: pid(2, 0, 65536), from: pid(1, 0, 65536), ref: 0, payload: 'b'.repeat(BULK_BYTES) });
    busy.enqueue(big, 0, big.length);
    busy.enqueue(run, 0, run.length, true);
    // The sender of the run has a bulk envelope pending, so its envelopes follow it on BULK.
    const bulk = busy.lanes[LaneId.BULK].takeBatch()!.data;
    expect(bulk.length).toBe(big.length + run.length);
    expect(busy.lanes[LaneId.REGULAR].takeBatch()).toBeUndefined();
  });

  it('lets small messages pass a large one in flight', () => {
    const session = new Session('peer', 64 * 1024, 4 << 20);
    const big = from(0, 1, BULK_BYTES * 4);
    session.enqueue(big, 0, big.length);
    const small = from(1, 1, 100);
    session.enqueue(small, 0, small.length);
    expect(senderAndNumber(session.lanes[LaneId.BULK].takeBatch()!.data)).toEqual([[0, 1]]);
    expect(senderAndNumber(session.lanes[LaneId.REGULAR].takeBatch()!.data)).toEqual([[1, 1]]);
  });

  it('keeps each sender\'s order whatever order the two lanes are delivered in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
        (sends, choices) => {
          const session = new Session('peer', 64 * 1024, 16 << 20);
          const next = [0, 0, 0, 0];
          const delivered: [number, number][] = [];
          let choice = 0;
          const deliverOne = (): boolean => {
            // Deliver one in-flight batch from a lane picked by `choices`, then acknowledge it.
            const order = choices[choice++ % choices.length] === true ? [LaneId.BULK, LaneId.REGULAR] : [LaneId.REGULAR, LaneId.BULK];
            for (const lane of order) {
              const batch = session.lanes[lane].inflight ?? session.lanes[lane].takeBatch();
              if (batch === undefined) continue;
              delivered.push(...senderAndNumber(batch.data));
              session.acknowledge(lane, batch.seq);
              return true;
            }
            return false;
          };
          for (const [sender, large] of sends) {
            const bytes = from(sender, ++next[sender]!, large ? BULK_BYTES + 100 : 120);
            session.enqueue(bytes, 0, bytes.length);
            if (choices[choice++ % choices.length] === true) deliverOne();
          }
          while (deliverOne());
          for (let sender = 0; sender < 4; sender++) {
            const numbersOf = delivered.filter(([s]) => s === sender).map(([, n]) => n);
            expect(numbersOf).toEqual(Array.from({ length: next[sender]! }, (_, i) => i + 1));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('PeerWatches', () => {
  const local = pid(1, 0, 65536);
  const remote = pid(2, 0, 65536);

  it('tracks monitors and links both ways and forgets them when they end', () => {
    const watches = new PeerWatches(10);
    watches.track(Signal.MONITOR, true, local, remote, 5);
    watches.track(Signal.MONITOR, false, remote, local, 9);
    watches.track(Signal.LINK, true, local, remote, 0);
    expect(watches.size).toBe(3);
    watches.track(Signal.DOWN, false, remote, local, 5);
    watches.track(Signal.DEMONITOR, false, remote, local, 9);
    expect(watches.drain()).toEqual([{ kind: 'link', local, remote, ref: 0 }]);
  });

  it('refuses new watches past its limit', () => {
    const watches = new PeerWatches(1);
    expect(watches.track(Signal.MONITOR, true, local, remote, 1)).toBe(true);
    expect(watches.track(Signal.MONITOR, true, local, remote, 2)).toBe(false);
    expect(watches.track(Signal.MONITOR, true, local, remote, 1)).toBe(true);
  });
});
