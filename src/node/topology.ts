/**
 * The rings of one node: a doorbell per participant (each executor, then the main thread at index
 * `executors`, then the service threads; see participants.ts) and one SPSC ring per ordered pair,
 * `rings[from][to]`. Each ring's consumer bell is its reader's, its producer bell its writer's, so
 * both wake-ups (records arrived, space freed) reach the right thread. A replaced thread's
 * participant gets a new bell and new rings both ways (`renew`); the others are told to switch.
 */
import { Doorbell } from '../ring/doorbell.js';
import { createRing, type RingHandle } from '../ring/ring.js';
import type { ResolvedOptions } from './options.js';

export class Topology {
  readonly bells: Doorbell[];
  readonly rings: (RingHandle | undefined)[][];

  constructor(
    readonly participants: number,
    private readonly capacity: number,
  ) {
    this.bells = Array.from({ length: participants }, () => Doorbell.create());
    this.rings = Array.from({ length: participants }, (_, from) =>
      Array.from({ length: participants }, (_, to) => (from === to ? undefined : this.ring(from, to))),
    );
  }

  /** Rings into participant `to`, indexed by producer. */
  inboundOf(to: number): (RingHandle | undefined)[] {
    return this.rings.map((row) => row[to]);
  }

  /** Rings out of participant `from`, indexed by consumer. */
  outboundOf(from: number): (RingHandle | undefined)[] {
    return this.rings[from]!.slice();
  }

  /** Gives participant `index` a new doorbell and new rings in both directions (its thread was replaced). */
  renew(index: number): void {
    this.bells[index] = Doorbell.create();
    for (let other = 0; other < this.participants; other++) {
      if (other === index) continue;
      this.rings[index]![other] = this.ring(index, other);
      this.rings[other]![index] = this.ring(other, index);
    }
  }

  private ring(from: number, to: number): RingHandle {
    return createRing({ capacity: this.capacity, consumerBell: this.bells[to]!, producerBell: this.bells[from]! });
  }
}

/** What every participant's worker (executors and services) needs to find its rings. */
export function ringData(topology: Topology, options: ResolvedOptions, index: number) {
  return {
    node: options.nodeId,
    shards: options.executors,
    bell: topology.bells[index]!.buffer,
    inbound: topology.inboundOf(index),
    outbound: topology.outboundOf(index),
    overflowLimit: options.overflowLimit,
    maxMessageBytes: options.maxMessageBytes,
  };
}
