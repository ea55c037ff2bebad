// What the chunk-writer fixture thread and its test agree on: the worker data and the good envelopes.
import { Signal, type Envelope } from '../../src/codec/envelope.js';
import { pid } from '../../src/process/pid.js';
import type { RingHandle } from '../../src/ring/ring.js';

export interface ChunkWriterData {
  ring: RingHandle;
  /** Body sizes of the good envelopes; a broken stream goes before each. */
  sizes: number[];
  maxMessageBytes: number;
}

/** The good envelope number `seq` with a body of `size` characters. */
export function good(seq: number, size: number): Envelope {
  return { signal: Signal.USER, to: pid(0, 1, 9), from: pid(0, 2, 8), ref: 0, payload: `${seq}:${String.fromCharCode(97 + (seq % 26)).repeat(size)}` };
}
