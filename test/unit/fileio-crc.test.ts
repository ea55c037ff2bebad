import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../src/fileio/crc32c.js';

/** Bit-at-a-time reference: the definition, for comparison with the table-driven version. */
function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32c', () => {
  it('matches the published check values (CRC-32C catalogue and RFC 3720 iSCSI vectors)', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('agrees with the bit-at-a-time definition for any bytes (every length mod 8)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32c(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('checksums a sub-range like the same bytes on their own, and chains through the seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 50 }), (a, b, pad) => {
        const joined = new Uint8Array(pad.length + a.length + b.length + pad.length);
        joined.set(pad, 0);
        joined.set(a, pad.length);
        joined.set(b, pad.length + a.length);
        joined.set(pad, pad.length + a.length + b.length);
        const whole = crc32c(joined, pad.length, a.length + b.length);
        const ab = new Uint8Array([...a, ...b]);
        expect(whole).toBe(crc32c(ab));
        expect(crc32c(joined, pad.length + a.length, b.length, crc32c(joined, pad.length, a.length))).toBe(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('works on views into a larger buffer and on Buffers', () => {
    const backing = ascii('xx123456789yy');
    expect(crc32c(backing.subarray(2, 11))).toBe(0xe3069283);
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('throws a RangeError for a range outside the buffer', () => {
    const bytes = new Uint8Array(10);
    expect(() => crc32c(bytes, 5, 6)).toThrow(RangeError);
    expect(() => crc32c(bytes, -1, 2)).toThrow(RangeError);
    expect(() => crc32c(bytes, 11)).toThrow(RangeError);
    expect(() => crc32c(bytes, 0.5, 2)).toThrow(RangeError);
    expect(crc32c(bytes, 10, 0)).toBe(0);
  });
});
