import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.js';
import { MAX_SPAWNER_ID, SHORT_SPAWNERS, SerialAllocator, serialFromParts, serialIndex, serialStream } from '../../src/process/pid.js';

const RUNS = { seed: 0x91d, numRuns: 300 };

describe('SerialAllocator', () => {
  it('gives every spawner its own serials, short and long form alike (never one twice)', () => {
    const ids = [0, 1, 2, 61, 62, 63, 64, 200, 65_535, MAX_SPAWNER_ID];
    const seen = new Set<number>();
    for (const id of ids) {
      const allocator = new SerialAllocator(id);
      for (let i = 0; i < 2_000; i++) {
        const serial = allocator.next();
        expect(Number.isSafeInteger(serial) && serial > 0).toBe(true);
        expect(seen.has(serial)).toBe(false);
        seen.add(serial);
        expect(serialStream(serial)).toBe(id);
        expect(serialIndex(serial)).toBe(i + 1);
      }
    }
  });

  it('keeps short-form serials small integers (V8 Smis) for the first 2^24 spawns', () => {
    for (let id = 0; id < SHORT_SPAWNERS; id++) expect(serialFromParts(id, 1 << 24)).toBeLessThan(2 ** 31);
    // The old layout (counter * 2^16 + id) left that range after 32,768 spawns.
    expect(serialFromParts(1, 32_769)).toBeLessThan(2 ** 22);
  });

  it('is one to one on (stream, index) for any spawner and counter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_SPAWNER_ID }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (stream, index) => {
        const serial = serialFromParts(stream, index);
        expect(Number.isSafeInteger(serial)).toBe(true);
        expect(serialStream(serial)).toBe(stream);
        expect(serialIndex(serial)).toBe(index);
      }),
      RUNS,
    );
  });

  it('throws HORDE_SERIALS_EXHAUSTED rather than pass a safe integer or reuse a serial', () => {
    for (const id of [5, 100]) {
      const allocator = new SerialAllocator(id);
      const last = (allocator as unknown as { lastCounter: number }).lastCounter;
      (allocator as unknown as { counter: number }).counter = last - 1;
      const serial = allocator.next();
      expect(Number.isSafeInteger(serial)).toBe(true);
      expect(serialIndex(serial)).toBe(last);
      expect(Number.isSafeInteger(serialFromParts(id, last + 1))).toBe(false);
      expect(() => allocator.next()).toThrow(expect.objectContaining({ code: ErrorCode.SERIALS_EXHAUSTED }));
    }
  });

  it('refuses a spawnerId outside 0..MAX_SPAWNER_ID', () => {
    for (const id of [-1, 1.5, MAX_SPAWNER_ID + 1, Number.NaN]) {
      expect(() => new SerialAllocator(id)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
    }
  });
});
