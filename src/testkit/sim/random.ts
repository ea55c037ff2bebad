/**
 * SimRandom: the simulator's one seeded generator. Every choice of a simulated run (which event
 * of equal time goes first, a message's latency, a chunk's split, a fault in swarm mode) is drawn
 * from it, so a seed names a run. sfc32 seeded through splitmix32: small, fast, with good
 * statistics, and the same sequence on every platform (only 32-bit integer arithmetic).
 */

import type { Random } from '../../internal/host.js';

/** A seeded generator of the simulator; also a `Random` for the cluster server's jitter. */
export class SimRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * A generator seeded with `seed`.
   * @param seed Any number; two generators of one seed draw the same sequence.
   */
  constructor(seed: number) {
    let s = Math.trunc(seed) >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A number in [low, high). */
  between(low: number, high: number): number {
    return low + this.next() * (high - low);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(items.length)]!;
  }

  /** An exponentially distributed number of mean `mean`. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** A new generator seeded from this one: an independent stream whose draws do not shift this one's later. */
  fork(): SimRandom {
    return new SimRandom(this.nextUint32());
  }
}
