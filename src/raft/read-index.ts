/**
 * ReadIndex on the leader (the dissertation's §6.4): a read is linearizable when it waits until
 * the state machine has applied the commit index the leader had when the read arrived, and the
 * leader has since confirmed it was still leader by hearing from a majority.
 *
 * Reads are numbered into rounds: the reads arriving between two drains of the core share one
 * round, whose number the next heartbeats carry; a follower's answer echoes the round, and one
 * answer confirms every round up to it. A read is confirmed when a majority of voters (the leader
 * counting itself) have answered its round or a later one. Reads that arrive before the leader
 * has committed an entry of its own term wait (the commit index is not yet known to be current).
 * The queue is bounded by the caller (`maxPendingReads`).
 */
import { hasQuorum } from './membership.js';
import type { Index, MemberId, Membership } from './types.js';

/** A read waiting for its round to be confirmed. */
export interface PendingRead {
  /** The read's id. */
  readonly id: string;
  /** Who asked: this member, or the follower that forwarded it. */
  readonly origin: MemberId;
  /** The commit index when it arrived. */
  readonly index: Index;
  /** Its round. */
  readonly round: number;
}

/** The leader's reads in flight. */
export class ReadRounds {
  /** The latest round number handed out. */
  round = 0;
  /** Whether heartbeats for the latest round are still to be sent. */
  roundUnsent = false;
  private pending: PendingRead[] = [];
  private acked = new Map<MemberId, number>();

  /** Reads waiting. */
  get size(): number {
    return this.pending.length;
  }

  /** Adds a read at `index`; it shares the round of the others since the last heartbeats. */
  add(id: string, origin: MemberId, index: Index): void {
    if (!this.roundUnsent) {
      this.round++;
      this.roundUnsent = true;
    }
    this.pending.push({ id, origin, index, round: this.round });
  }

  /** Records `member`'s answer to `round`; returns the reads now confirmed, oldest first. */
  ack(member: MemberId, round: number, self: MemberId, membership: Membership): PendingRead[] {
    if (round > (this.acked.get(member) ?? 0)) this.acked.set(member, round);
    const confirmed: PendingRead[] = [];
    while (this.pending.length > 0) {
      const read = this.pending[0]!;
      if (!hasQuorum(membership, (m) => m === self || (this.acked.get(m) ?? 0) >= read.round)) break;
      confirmed.push(read);
      this.pending.shift();
    }
    return confirmed;
  }

  /** Removes and returns every read (the leader stepped down). */
  drain(): PendingRead[] {
    const reads = this.pending;
    this.pending = [];
    return reads;
  }
}
