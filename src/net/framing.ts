/**
 * Framing for the cluster's TCP connections: each frame is a 4-byte big-endian length, then that
 * many bytes (a protobuf message, see the cluster issue). `FrameDecoder` turns the chunks a socket
 * delivers, split anywhere, back into frames.
 *
 * Bounds: a frame's length is checked against `maxFrameBytes` as soon as its 4 prefix bytes have
 * arrived, before anything is allocated for it; an oversize length fails the decoder with
 * HORDE_FRAME_TOO_LARGE (the caller closes that connection with the reason). Bytes held between
 * chunks never exceed one prefix plus one frame, so a peer that sends slowly or lies about a length
 * cannot make the node allocate without bound. A decoder that failed stays failed.
 *
 * Allocation: a frame wholly inside one chunk is handed out as a view of the chunk (no copy); only
 * a frame split across chunks is assembled: a small one into a buffer of exactly its size, one of
 * REUSE_FROM_BYTES to REUSE_UP_TO_BYTES into a buffer the decoder keeps and reuses (a busy peer's
 * batch fragments span chunks nearly always; a fresh 64 KiB buffer each cost the receiving main
 * thread more in garbage collection than the rest of its work). Either way a frame is valid only
 * during its callback: whoever keeps one copies it.
 */

import { ErrorCode, HordeError } from '../errors.js';

export const FRAME_PREFIX_BYTES = 4;
/** Frames split across chunks from this size on are assembled in the decoder's reused buffer. */
export const REUSE_FROM_BYTES = 16 * 1024;
/** ... and up to this size (a fragment is 64 KiB; the reused buffer never holds on to more). */
const REUSE_UP_TO_BYTES = 256 * 1024;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Prepends the length prefix; refuses a payload over `maxFrameBytes`. */
export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (payload.length > maxFrameBytes) {
    throw new HordeError(ErrorCode.FRAME_TOO_LARGE, `frame of ${payload.length} bytes exceeds the limit of ${maxFrameBytes}`);
  }
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, FRAME_PREFIX_BYTES);
  return frame;
}

export class FrameDecoder {
  private readonly prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  private prefixFilled = 0;
  /** The frame being assembled across chunks, and how much of it has arrived. */
  private partial: Uint8Array | undefined;
  private partialFilled = 0;
  /** The reused buffer for large split frames (at most REUSE_UP_TO_BYTES). */
  private spare = new Uint8Array(0);
  private failure: HordeError | undefined;

  constructor(private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > 0xffffffff) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "maxFrameBytes" must be an integer from 0 to 2^32 - 1; got ${String(maxFrameBytes)}`);
    }
  }

  /** Changes the limit for frames whose length has not arrived yet (a handshake raises it). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for a frame that has not fully arrived (bounded by prefix + maxFrameBytes). */
  get pendingBytes(): number {
    return this.prefixFilled + this.partialFilled;
  }

  /** The error that failed this decoder, if any. */
  get failed(): HordeError | undefined {
    return this.failure;
  }

  /**
   * Feeds one chunk; calls `onFrame` for every frame it completes, in order. Throws (and stays
   * failed) on a length over the limit; frames completed before it in the same chunk were handed
   * out. A frame view is valid only during its callback unless the caller copies it.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (this.failure !== undefined) throw this.failure;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialFilled, chunk.length - offset);
        this.partial.set(chunk.subarray(offset, offset + take), this.partialFilled);
        this.partialFilled += take;
        offset += take;
        if (this.partialFilled === this.partial.length) {
          const frame = this.partial;
          this.partial = undefined;
          this.partialFilled = 0;
          onFrame(frame);
        }
        continue;
      }
      let length: number;
      if (this.prefixFilled === 0 && chunk.length - offset >= FRAME_PREFIX_BYTES) {
        length = readLength(chunk, offset);
        offset += FRAME_PREFIX_BYTES;
      } else {
        const take = Math.min(FRAME_PREFIX_BYTES - this.prefixFilled, chunk.length - offset);
        this.prefix.set(chunk.subarray(offset, offset + take), this.prefixFilled);
        this.prefixFilled += take;
        offset += take;
        if (this.prefixFilled < FRAME_PREFIX_BYTES) return;
        this.prefixFilled = 0;
        length = readLength(this.prefix, 0);
      }
      if (length > this.maxFrameBytes) {
        this.failure = new HordeError(ErrorCode.FRAME_TOO_LARGE, `peer announced a frame of ${length} bytes; the limit is ${this.maxFrameBytes}`);
        throw this.failure;
      }
      if (chunk.length - offset >= length) {
        onFrame(chunk.subarray(offset, offset + length));
        offset += length;
      } else {
        if (length < REUSE_FROM_BYTES || length > REUSE_UP_TO_BYTES) {
          this.partial = new Uint8Array(length);
        } else {
          if (this.spare.length < length) this.spare = new Uint8Array(length);
          this.partial = this.spare.subarray(0, length);
        }
        this.partialFilled = 0;
      }
    }
  }
}

function readLength(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
