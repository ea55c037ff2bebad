/**
 * Node pressure: which other nodes of the cluster are congested, shared by the main thread (the
 * only writer) with every executor, so that back pressure holds back the senders to one slow
 * peer and nobody else.
 *
 * Design note (concurrent module): one SharedArrayBuffer of Int32 words: word 0 is an epoch, the
 * rest one bit per node number (65,536 bits). The main thread sets or clears a node's bit with
 * Atomics.or / Atomics.and, then bumps the epoch (Atomics.add) and rings the executors' doorbells.
 * An executor reads a bit with Atomics.load when a process sends to that node (after the envelope
 * is in the ring: the message is accepted, and the sender is parked until the bit clears, as for
 * a full ring); it compares the epoch once per loop pass and, when it changed, resumes the senders
 * parked on nodes whose bit is now clear. A sender parked just after a clear sees the epoch of
 * that clear at its executor's next pass, so no sender stays parked on a clear bit. Bits only
 * park senders: they never hold or drop a message.
 */

/** Node numbers are u16 (see the envelope header). */
const NODES = 1 << 16;
const EPOCH = 0;

export class NodePressure {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(4 * (1 + NODES / 32))) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer);
  }

  /** Whether sends to `node` should park their sender. */
  isCongested(node: number): boolean {
    return (Atomics.load(this.words, 1 + (node >>> 5)) & (1 << (node & 31))) !== 0;
  }

  /** The main thread: marks `node` congested or not; returns whether that changed anything. */
  set(node: number, congested: boolean): boolean {
    if (this.isCongested(node) === congested) return false;
    const bit = 1 << (node & 31);
    if (congested) Atomics.or(this.words, 1 + (node >>> 5), bit);
    else Atomics.and(this.words, 1 + (node >>> 5), ~bit);
    Atomics.add(this.words, EPOCH, 1);
    return true;
  }

  /** Changes so far (an executor compares it once a pass). */
  get epoch(): number {
    return Atomics.load(this.words, EPOCH);
  }
}
