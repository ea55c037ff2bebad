/**
 * Records larger than a ring's largest record (half the ring), as chunks: the writing side
 * (`writeChunks`, which Outbound calls for such a record) and the reading side (`reassembling`,
 * which wraps the visitor of a thread's InboundRings).
 *
 * Design note (each side runs on one thread; the ring between them is the only thing shared):
 * - Format (record kinds in src/codec/envelope.ts): RECORD_CHUNK_FIRST carries an 8-byte header
 *   (the whole record's length as u32 LE, its kind as u8, three zero bytes) and the first bytes;
 *   each RECORD_CHUNK carries the next bytes. A chunk record, header included, is a quarter of the
 *   ring (at most its largest record), so the ring holds four and the consumer frees room while
 *   the producer writes the next.
 * - Order: a producer writes the chunks of one record one after another and nothing else on that
 *   ring until the last one (Outbound keeps everything sent after it in the destination's
 *   overflow, behind the rest of the record, as for any full ring). So a reader has at most one
 *   record in assembly per ring, and anything else arriving on that ring before the record is
 *   whole means the stream was cut short.
 * - Bounds: the reader refuses a record announced longer than `maxMessageBytes`, and allocates the
 *   announced length once, at the first chunk: at most `maxMessageBytes` per inbound ring. After
 *   delivery the buffer is kept as the thread's one spare for the next large record if it is at
 *   most SPARE_MAX_BYTES, else dropped (fresh memory costs its page faults: on the 2-core VM a
 *   fresh 1 MiB took 1-2.4 ms to fill, against 50 us to copy into memory in use).
 * - A malformed or truncated stream (a first chunk with a bad header, a length over the limit, a
 *   chunk without a first one, more bytes than announced, a record cut short by another record) is
 *   reported to `malformed` (the reader counts it, as it counts an envelope that does not decode)
 *   and skipped: the chunks that follow a refused first chunk are dropped without a second report,
 *   and the next whole record or first chunk is read as usual. Nothing here throws.
 * - A replaced ring (its producer died): the reader sees that a record arrived from other memory
 *   than the unfinished one came from, and drops the unfinished one as the old ring's records are
 *   dropped, without a report.
 *
 * Why chunks through the ring, and not the bytes in a shared buffer whose ownership passes with a
 * small record (measured on the 2-core VM, a prototype of each moving 1 and 16 MiB messages between
 * two workers, and `npm run bench -- large`):
 * - Chunks through a 1 MiB ring moved 1.0-2.6 GB/s (two copies of each byte, into the ring and
 *   out of it; the reader's buffer reused). Chunks of a quarter of the ring were as fast as half
 *   a ring within the noise, and 64 KiB chunks about half as fast on 16 MiB.
 * - A SharedArrayBuffer cannot go through a ring, only through postMessage. So each large message
 *   needs a side channel per pair of threads, created and replaced with the rings and handed to
 *   every worker, read with receiveMessageOnPort when its record comes (a BroadcastChannel needs
 *   no plumbing, but it is started when created: a thread that runs its event loop, as the main
 *   thread and the file worker do, drops what it has not read at once; tried), plus accounting of
 *   its own for back pressure, since the ring no longer bounds the bytes in flight.
 * - Fresh memory is what makes it slow: allocating and filling 16 MiB took 65 ms (ArrayBuffer) and
 *   105 ms (SharedArrayBuffer) against 9 ms to copy into memory in use. With a fresh shared buffer
 *   a message the prototype moved 60-100 MB/s (transferring fresh ArrayBuffers: 100-200 MB/s;
 *   postMessage copying: 290-610 MB/s); with two pooled buffers, reused once the reader flagged
 *   them done, 0.9-4.3 GB/s: one copy fewer than chunks, at the price of the side channel, the pool
 *   and its own accounting.
 * - What the transfer costs is small beside the encoding of such messages: JSON.stringify, UTF-8
 *   and JSON.parse of a 14 MB report took 1.1-1.6 s on the same machine, against under 10 ms of
 *   chunking. A shared buffer would save milliseconds on messages that take a second to encode.
 *   What chunks cost the small messages behind a large one on the same ring is that transfer (two
 *   copies and, for a message many times the ring, a handoff per ring-full); other rings do not
 *   wait.
 */

import { CHUNK_HEADER_BYTES, RECORD_CHUNK, RECORD_CHUNK_FIRST, RECORD_ENVELOPE, RECORD_ENVELOPES } from '../codec/envelope.js';
import { ErrorCode, HordeError } from '../errors.js';
import type { InboundVisitor } from '../ring/inbound.js';
import type { RingWriter } from '../ring/ring.js';
import { RECORD_HEADER_BYTES } from '../ring/layout.js';
import { BufferView } from '../internal/buffer-view.js';

/**
 * The largest buffer a thread keeps for the next large record, on each side (Outbound's for the
 * envelope it sends, the reader's for the record it reassembles). Measured on the 2-core VM, 16 MiB
 * messages between two workers: 1.4-1.7 GB/s with spares of 16 MiB, 0.37-0.73 GB/s with fresh
 * memory for each; so a thread that moved large messages keeps up to 32 MiB for the next ones.
 */
export const SPARE_MAX_BYTES = 16 << 20;

/** A Buffer over the ring chunks are read from (see BufferView). */
const ringView = new BufferView();

/**
 * Payload bytes of one chunk record on `writer`'s ring: with its header a quarter of the ring (so
 * four fill it exactly, and one never has to skip the end of the ring), at most its largest record.
 */
export function chunkRecordBytes(writer: RingWriter): number {
  return Math.min(writer.maxPayload, writer.capacity / 4 - RECORD_HEADER_BYTES) & ~3;
}

/**
 * Writes the chunks of the record `bytes` (of `kind`) from byte `sent` on, while the ring has room;
 * does not publish. Returns how many bytes of the record are written now (`bytes.length`: all).
 */
export function writeChunks(writer: RingWriter, bytes: Uint8Array, kind: number, sent: number): number {
  const chunk = chunkRecordBytes(writer);
  const total = bytes.length;
  while (sent < total) {
    const first = sent === 0;
    const header = first ? CHUNK_HEADER_BYTES : 0;
    const n = Math.min(chunk - header, total - sent);
    const at = writer.reserve(first ? RECORD_CHUNK_FIRST : RECORD_CHUNK, header + n);
    if (at < 0) break;
    if (first) {
      writer.view.setUint32(at, total, true);
      writer.view.setUint32(at + 4, kind, true);
    }
    // A view per chunk (a quarter of the ring), not a cached Buffer: that would keep the last
    // large envelope alive after it left.
    writer.bytes.set(bytes.subarray(sent, sent + n), at + header);
    sent += n;
  }
  return sent;
}

/**
 * Wraps `visit` (the visitor of an InboundRings) so that chunk records are gathered per ring and
 * each whole record reaches `visit` as if it had come in one piece; other records pass straight
 * through. A malformed or truncated chunk stream is reported to `malformed` and skipped.
 */
export function reassembling(visit: InboundVisitor, maxMessageBytes: number, malformed: (error: HordeError) => void): InboundVisitor {
  const assembly = new Reassembly(visit, maxMessageBytes, malformed);
  return (ring, kind, bytes, offset, length) => {
    if (assembly.open === 0 && kind !== RECORD_CHUNK_FIRST && kind !== RECORD_CHUNK) visit(ring, kind, bytes, offset, length);
    else assembly.record(ring, kind, bytes, offset, length);
  };
}

interface Assembly {
  /** The ring memory its chunks come from (another one: the ring was replaced). */
  readonly source: Uint8Array;
  readonly buffer: Uint8Array;
  readonly kind: number;
  readonly total: number;
  have: number;
}

/** Per-ring state of the chunk streams read by one thread. */
class Reassembly {
  /** Rings with a record in assembly or a refused one being skipped (0: every record passes through). */
  open = 0;
  private readonly partials: (Assembly | undefined)[] = [];
  /** Rings whose current chunked record was refused: its other chunks are dropped quietly. */
  private readonly skipping: boolean[] = [];
  private spare: Uint8Array | undefined;

  constructor(
    private readonly visit: InboundVisitor,
    private readonly maxMessageBytes: number,
    private readonly malformed: (error: HordeError) => void,
  ) {}

  record(ring: number, kind: number, bytes: Uint8Array, offset: number, length: number): void {
    const partial = this.partials[ring];
    if (partial !== undefined && partial.source !== bytes) this.close(ring);
    if (kind === RECORD_CHUNK_FIRST) {
      this.first(ring, bytes, offset, length);
    } else if (kind === RECORD_CHUNK) {
      this.next(ring, bytes, offset, length);
    } else {
      this.cutShort(ring, `a record of kind ${kind}`);
      this.close(ring);
      this.visit(ring, kind, bytes, offset, length);
    }
  }

  private first(ring: number, bytes: Uint8Array, offset: number, length: number): void {
    this.cutShort(ring, 'the first chunk of another record');
    this.close(ring);
    if (length < CHUNK_HEADER_BYTES) return this.refuse(ring, `a first chunk of ${length} bytes is shorter than its ${CHUNK_HEADER_BYTES}-byte header`);
    const total = (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) + bytes[offset + 3]! * 0x1000000;
    const kind = bytes[offset + 4]!;
    const data = length - CHUNK_HEADER_BYTES;
    if ((kind !== RECORD_ENVELOPE && kind !== RECORD_ENVELOPES) || (bytes[offset + 5]! | bytes[offset + 6]! | bytes[offset + 7]!) !== 0) {
      return this.refuse(ring, `a first chunk's header names kind ${kind} (reserved bytes ${bytes[offset + 5]}, ${bytes[offset + 6]}, ${bytes[offset + 7]})`);
    }
    if (total > this.maxMessageBytes) return this.refuse(ring, `a chunked record announces ${total} bytes, more than maxMessageBytes (${this.maxMessageBytes})`);
    if (data > total) return this.refuse(ring, `a first chunk holds ${data} bytes of a ${total}-byte record`);
    const buffer = this.take(total);
    ringView.copy(bytes, offset + CHUNK_HEADER_BYTES, offset + length, buffer, 0);
    const partial: Assembly = { source: bytes, buffer, kind, total, have: data };
    this.partials[ring] = partial;
    this.open++;
    if (data === total) this.deliver(ring, partial);
  }

  private next(ring: number, bytes: Uint8Array, offset: number, length: number): void {
    const partial = this.partials[ring];
    if (partial === undefined) {
      if (this.skipping[ring] !== true) this.refuse(ring, `a chunk of ${length} bytes without a first chunk`);
      return;
    }
    if (partial.have + length > partial.total) {
      this.close(ring);
      this.refuse(ring, `chunks hold more than the ${partial.total} bytes their record announced`);
      return;
    }
    ringView.copy(bytes, offset, offset + length, partial.buffer, partial.have);
    partial.have += length;
    if (partial.have === partial.total) this.deliver(ring, partial);
  }

  private deliver(ring: number, partial: Assembly): void {
    this.partials[ring] = undefined;
    this.open--;
    try {
      this.visit(ring, partial.kind, partial.buffer, 0, partial.total);
    } finally {
      this.release(partial.buffer);
    }
  }

  /** Reports the record in assembly on `ring` as cut short by `what`, if there is one. */
  private cutShort(ring: number, what: string): void {
    const partial = this.partials[ring];
    if (partial !== undefined) this.malformed(malformed(`a ${partial.total}-byte chunked record was cut short after ${partial.have} bytes by ${what}`));
  }

  /** Forgets what `ring` had in assembly or was skipping. */
  private close(ring: number): void {
    const partial = this.partials[ring];
    if (partial !== undefined) {
      this.partials[ring] = undefined;
      this.release(partial.buffer);
      this.open--;
    }
    if (this.skipping[ring] === true) {
      this.skipping[ring] = false;
      this.open--;
    }
  }

  /** Reports a malformed chunk and skips the rest of its record. */
  private refuse(ring: number, what: string): void {
    this.malformed(malformed(what));
    if (this.skipping[ring] !== true) {
      this.skipping[ring] = true;
      this.open++;
    }
  }

  private take(total: number): Uint8Array {
    const spare = this.spare;
    if (spare !== undefined && spare.length >= total) {
      this.spare = undefined;
      return spare;
    }
    const buffer = Buffer.allocUnsafeSlow(total);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, total);
  }

  private release(buffer: Uint8Array): void {
    if (buffer.length <= SPARE_MAX_BYTES && (this.spare === undefined || this.spare.length < buffer.length)) this.spare = buffer;
  }
}

function malformed(what: string): HordeError {
  return new HordeError(ErrorCode.MALFORMED_ENVELOPE, `malformed chunk stream: ${what}`);
}
