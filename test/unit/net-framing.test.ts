// Length-prefixed framing: frames survive any split into chunks; an oversize length fails the
// decoder before anything is allocated for it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.js';
import { FRAME_PREFIX_BYTES, FrameDecoder, encodeFrame } from '../../src/net/framing.js';
import { throwsCode } from '../support/errors.js';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

describe('FrameDecoder', () => {
  it('gives back every frame, in order, however the stream is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (payloads, cuts) => {
          const stream = concat(payloads.map((p) => encodeFrame(p)));
          const decoder = new FrameDecoder(1024);
          const frames: number[][] = [];
          let offset = 0;
          let cut = 0;
          while (offset < stream.length) {
            const size = cuts[cut++ % cuts.length]!;
            decoder.push(stream.subarray(offset, offset + size), (frame) => frames.push(Array.from(frame)));
            offset += size;
          }
          expect(frames).toEqual(payloads.map((p) => Array.from(p)));
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('assembles large frames split across chunks correctly one after another in its reused buffer', () => {
    const payloads = [20_000, 70_000, 30_000, 300_000, 17_000].map((length, seed) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff));
    const stream = concat(payloads.map((p) => encodeFrame(p)));
    const decoder = new FrameDecoder(1 << 20);
    const seen: boolean[] = [];
    for (let offset = 0; offset < stream.length; offset += 8192) {
      decoder.push(stream.subarray(offset, offset + 8192), (frame) => {
        // Checked during the callback: that is as long as a frame is valid.
        seen.push(Buffer.compare(frame, payloads[seen.length]!) === 0);
      });
    }
    expect(seen).toEqual([true, true, true, true, true]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('hands out zero-length frames and frames inside one chunk as views', () => {
    const decoder = new FrameDecoder();
    const seen: Uint8Array[] = [];
    const stream = concat([encodeFrame(new Uint8Array(0)), encodeFrame(Uint8Array.of(1, 2, 3))]);
    decoder.push(stream, (frame) => seen.push(frame));
    expect(seen.map((f) => Array.from(f))).toEqual([[], [1, 2, 3]]);
    expect(seen[1]!.buffer).toBe(stream.buffer);
  });

  it('refuses an oversize length as soon as the prefix arrives, and stays failed', () => {
    const decoder = new FrameDecoder(100);
    const prefix = new Uint8Array(FRAME_PREFIX_BYTES);
    new DataView(prefix.buffer).setUint32(0, 0xffffffff);
    decoder.push(prefix.subarray(0, 2), () => undefined);
    const error = throwsCode(() => decoder.push(prefix.subarray(2), () => undefined), ErrorCode.FRAME_TOO_LARGE);
    expect(error.message).toContain('4294967295');
    expect(decoder.pendingBytes).toBeLessThanOrEqual(FRAME_PREFIX_BYTES);
    throwsCode(() => decoder.push(encodeFrame(Uint8Array.of(1)), () => undefined), ErrorCode.FRAME_TOO_LARGE);
  });

  it('hands out the frames before a bad length in the same chunk', () => {
    const decoder = new FrameDecoder(10);
    const frames: number[][] = [];
    const bad = new Uint8Array(FRAME_PREFIX_BYTES);
    new DataView(bad.buffer).setUint32(0, 11);
    throwsCode(() => decoder.push(concat([encodeFrame(Uint8Array.of(7)), bad]), (f) => frames.push(Array.from(f))), ErrorCode.FRAME_TOO_LARGE);
    expect(frames).toEqual([[7]]);
  });

  it('refuses to encode a frame over the limit and a bad limit', () => {
    throwsCode(() => encodeFrame(new Uint8Array(11), 10), ErrorCode.FRAME_TOO_LARGE);
    throwsCode(() => new FrameDecoder(-1), ErrorCode.INVALID_OPTION);
  });
});
