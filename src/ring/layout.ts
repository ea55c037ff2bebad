/**
 * Slot numbers and sizes of the shared buffers behind rings and doorbells, in one place.
 *
 * Each index that one thread writes and another reads sits on its own 64-byte cache line, so the
 * producer's stores to HEAD do not invalidate the line the consumer writes TAIL to.
 */

export const CACHE_LINE_BYTES = 64;
const INT32_PER_LINE = CACHE_LINE_BYTES / Int32Array.BYTES_PER_ELEMENT;

/** Int32 slots of a ring's control block (indices into an Int32Array over the buffer). */
export const RingSlot = {
  /** Constant: RING_MAGIC, written once at creation. */
  MAGIC: 0,
  /** Constant: data capacity in bytes (a power of two). */
  CAPACITY: 1,
  /** Free-running byte count written so far. Owned (stored) by the producer only. */
  HEAD: 1 * INT32_PER_LINE,
  /** Free-running byte count consumed so far. Owned (stored) by the consumer only. */
  TAIL: 2 * INT32_PER_LINE,
  /** 1 while the producer waits for space and wants its doorbell rung when the consumer frees some. */
  SPACE_WANTED: 3 * INT32_PER_LINE,
} as const;

/** Bytes before the data region: four cache lines of control block. */
export const RING_CONTROL_BYTES = 4 * CACHE_LINE_BYTES;

/**
 * Bytes after the data region that nothing writes: tests fill them (and the unused bytes of the
 * control block) with canaries to catch a write outside the data region.
 */
export const RING_GUARD_BYTES = CACHE_LINE_BYTES;

export const RING_MAGIC = 0x48524e47; // "HRNG"

/** Each record starts with one 32-bit word: payload length in the upper 24 bits, kind in the low 8. */
export const RECORD_HEADER_BYTES = 4;
export const RECORD_ALIGN_BYTES = 4;
export const MAX_RECORD_KIND = 254;
/** Kind of the filler record that tells the consumer to continue at the start of the buffer. */
export const WRAP_KIND = 255;
export const MAX_LENGTH_FIELD = 0xffffff;

export const MIN_RING_CAPACITY = 64;
export const MAX_RING_CAPACITY = 1 << 30;

/** Int32 slots of a doorbell's buffer. */
export const BellSlot = {
  /** 1 while the owning consumer is parked (or about to park); producers clear it and notify. */
  PARKED: 0,
  /** Constant: BELL_MAGIC. */
  MAGIC: 1,
  /** Count of notifications actually sent (for tests and status). */
  NOTIFIES: 2,
  /** Count of times the owner parked. */
  PARKS: 3,
} as const;

export const BELL_BYTES = CACHE_LINE_BYTES;
export const BELL_MAGIC = 0x48424c4c; // "HBLL"
