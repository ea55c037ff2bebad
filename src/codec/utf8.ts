/**
 * UTF-8 text to bytes and back, for the JSON payloads of envelopes.
 *
 * Encoding: a record's length must be known before the ring reserves it, so the text is first
 * encoded into a per-thread scratch buffer (TextEncoder.encodeInto, no allocation) and then copied
 * into the ring. The scratch starts at SCRATCH_INITIAL_BYTES and doubles, when a text does not fit,
 * up to SCRATCH_MAX_BYTES (then it stays that size for the life of the thread). A text whose UTF-8
 * form is larger than that is encoded with TextEncoder.encode into a fresh array (one allocation).
 * Measured on the 2-core machine for a 30-byte JSON text: encodeInto the scratch and copy 21M/s,
 * Buffer.byteLength then Buffer#write into the ring 12M/s (17M/s with the undocumented utf8Write).
 *
 * Decoding: JSON.stringify leaves non-ASCII characters as they are, but most payloads are ASCII.
 * A loop checks that every byte is below 0x80; then the bytes are read as latin1 (identical for
 * ASCII) through a Buffer over the same memory; otherwise a fatal TextDecoder reads them, so
 * invalid UTF-8 is an error, never silently replaced. Measured on the 2-core machine, decoding a
 * 27-byte JSON text and parsing the string: fatal TextDecoder + JSON.parse 336 ns, ASCII check +
 * latin1 Buffer#toString + JSON.parse 263 ns (JSON.parse is slower on a TextDecoder's fresh string
 * than the two measured apart suggest; the latin1 string does not show it).
 *
 * Not re-entrant across the result: `encode` returns a view of the scratch that the next call
 * overwrites. Every caller copies it out before it runs any user code.
 */

import { BufferView } from '../internal/buffer-view.js';

export const SCRATCH_INITIAL_BYTES = 4096;
export const SCRATCH_MAX_BYTES = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

let scratch = new Uint8Array(SCRATCH_INITIAL_BYTES);

/** The bytes of one encoded text: `bytes[0, length)`, valid until the next `encodeUtf8`. */
export interface Utf8Bytes {
  bytes: Uint8Array;
  length: number;
}

const result: Utf8Bytes = { bytes: scratch, length: 0 };

/** Encodes `text`; the answer (one reused object) is valid until the next call. */
export function encodeUtf8(text: string): Utf8Bytes {
  let { read, written } = encoder.encodeInto(text, scratch);
  while (read < text.length && scratch.length < SCRATCH_MAX_BYTES) {
    scratch = new Uint8Array(Math.min(SCRATCH_MAX_BYTES, Math.max(scratch.length * 2, nextPowerOfTwo(text.length * 3))));
    ({ read, written } = encoder.encodeInto(text, scratch));
  }
  if (read < text.length) {
    const bytes = encoder.encode(text);
    result.bytes = bytes;
    result.length = bytes.length;
    return result;
  }
  result.bytes = scratch;
  result.length = written;
  return result;
}

/** Decodes `bytes[offset, offset + length)`; throws a TypeError on invalid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, offset: number, length: number): string {
  const end = offset + length;
  if (!isAsciiBytes(bytes, offset, length)) return decoder.decode(bytes.subarray(offset, end));
  return decodeView.of(bytes).toString('latin1', offset, end);
}

/** Runs at least this long are checked a 32-bit word at a time (where aligned). */
const WORD_CHECK_BYTES = 16;
let wordsBuffer: ArrayBufferLike | undefined;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

/**
 * True when every byte of `bytes[offset, offset + length)` is below 0x80. Longer runs are read as
 * aligned 32-bit words (`word & 0x80808080`) through an Int32Array over the same buffer, kept
 * while the buffer stays the same (a ring's, nearly always): about 3x fewer loads than bytes.
 */
export function isAsciiBytes(bytes: Uint8Array, offset: number, length: number): boolean {
  const end = offset + length;
  let i = offset;
  if (length >= WORD_CHECK_BYTES) {
    const base = bytes.byteOffset;
    if (bytes.buffer !== wordsBuffer) {
      wordsBuffer = bytes.buffer;
      words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
    }
    for (; ((base + i) & 3) !== 0; i++) {
      if (bytes[i]! >= 0x80) return false;
    }
    for (; i + 4 <= end; i += 4) {
      if ((words[(base + i) >>> 2]! & 0x80808080) !== 0) return false;
    }
  }
  for (; i < end; i++) {
    if (bytes[i]! >= 0x80) return false;
  }
  return true;
}

/** Reads `bytes[start, end)`, which the caller has checked to be ASCII, as a string. */
export function decodeLatin1(bytes: Uint8Array, start: number, end: number): string {
  return decodeView.of(bytes).toString('latin1', start, end);
}

/** Buffers over the ring being decoded and over the source of copies (see BufferView). */
const decodeView = new BufferView();
const copyView = new BufferView();

/**
 * Copies `source[0, length)` to `target` at `offset`: a loop for short runs; for longer ones a
 * native copy through a Buffer over the source (kept while the source is the same array, as the
 * scratch nearly always is), so no view is allocated per message.
 */
export function copyBytes(source: Uint8Array, length: number, target: Uint8Array, offset: number): void {
  if (length <= SHORT_COPY_BYTES) {
    for (let i = 0; i < length; i++) target[offset + i] = source[i]!;
  } else if (length === source.length) {
    target.set(source, offset);
  } else {
    copyView.copy(source, 0, length, target, offset);
  }
}

/**
 * Up to this many bytes a loop beats `set` of a subarray (which costs about 34 ns even for 8
 * bytes). Measured into a SharedArrayBuffer on the 2-core machine: 8 bytes 4.5 vs 34 ns, 32 bytes
 * 52 vs 40 ns, 64 bytes 95 vs 50 ns.
 */
const SHORT_COPY_BYTES = 16;

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(n, 1)));
}
