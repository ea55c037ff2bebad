import { RING_CONTROL_BYTES, RING_GUARD_BYTES, RingSlot } from '../../src/ring/layout.js';
import { randomInt } from './seeded.js';

/** The payload byte at `index` of record `seq`: both sides compute it, so nothing is shared. */
export function payloadByte(seq: number, index: number): number {
  return (seq * 31 + index * 7 + 11) & 0xff;
}

export function recordKind(seq: number): number {
  return seq % 255;
}

/**
 * Seeded record lengths: mostly small, with zero-length records and large ones near the ring's
 * limit mixed in, so records straddle the wrap point in every position.
 */
export function recordLength(random: () => number, maxPayload: number): number {
  const roll = random();
  if (roll < 0.05) return 0;
  if (roll < 0.1) return randomInt(random, Math.max(0, maxPayload - 8), maxPayload);
  if (roll < 0.25) return randomInt(random, 0, maxPayload);
  return randomInt(random, 1, Math.min(96, maxPayload));
}

export function fillPayload(bytes: Uint8Array, offset: number, length: number, seq: number): void {
  for (let i = 0; i < length; i++) bytes[offset + i] = payloadByte(seq, i);
}

/** Returns a description of the first mismatch, or undefined when the record is as written. */
export function checkRecord(
  seq: number,
  expectedLength: number,
  kind: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
): string | undefined {
  if (length !== expectedLength) return `record ${seq}: length ${length}, expected ${expectedLength}`;
  if (kind !== recordKind(seq)) return `record ${seq}: kind ${kind}, expected ${recordKind(seq)}`;
  for (let i = 0; i < length; i++) {
    if (bytes[offset + i] !== payloadByte(seq, i)) return `record ${seq}: byte ${i} is ${bytes[offset + i]}`;
  }
  return undefined;
}

const CANARY = 0xa5;
const SLOT_BYTES = new Set<number>(
  Object.values(RingSlot).flatMap((slot) => [0, 1, 2, 3].map((b) => slot * 4 + b)),
);

/** Fills every byte of a ring's buffer that the ring must never write with a canary. */
export function plantCanaries(buffer: SharedArrayBuffer): void {
  const all = new Uint8Array(buffer);
  for (let i = 0; i < RING_CONTROL_BYTES; i++) if (!SLOT_BYTES.has(i)) all[i] = CANARY;
  all.fill(CANARY, all.length - RING_GUARD_BYTES);
}

/** Offsets of canary bytes that were overwritten. */
export function damagedCanaries(buffer: SharedArrayBuffer): number[] {
  const all = new Uint8Array(buffer);
  const damaged: number[] = [];
  for (let i = 0; i < RING_CONTROL_BYTES; i++) if (!SLOT_BYTES.has(i) && all[i] !== CANARY) damaged.push(i);
  for (let i = all.length - RING_GUARD_BYTES; i < all.length; i++) if (all[i] !== CANARY) damaged.push(i);
  return damaged;
}
