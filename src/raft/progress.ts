/**
 * What the leader knows of one follower (etcd's Progress): the highest index it has durably
 * matched, the next index to send, and how to send it.
 *
 * - probe: one append at a time until the follower accepts one (after a rejection, at election,
 *   after a snapshot); a heartbeat answer allows the next probe, so a lost probe is retried.
 * - replicate: appends are pipelined: `next` advances optimistically as they are sent, up to
 *   `maxInflight` messages unanswered (the window; `inflight` holds each one's last index). A
 *   follower that answers nothing for `replicationTimeoutTicks` falls back to probe.
 * - snapshot: the follower is behind the compaction point; a snapshot is streamed to it in
 *   chunks, at most `snapshotWindow` chunks unacknowledged. Chunks unacknowledged for
 *   `snapshotResendTicks` are sent again from the last offset the follower confirmed, never from
 *   zero, so a snapshot whose transfer takes longer than any timeout still completes.
 */
import type { Index, SnapshotMeta } from './types.js';

/** A snapshot being streamed to one follower. */
export interface OutgoingSnapshot {
  /** The snapshot. */
  readonly meta: SnapshotMeta;
  /** Its bytes (the snapshot held when the transfer began: a newer one does not restart it). */
  readonly data: Uint8Array;
  /** Bytes the follower confirmed. */
  acked: number;
  /** Bytes sent so far (from `acked` after a resend). */
  sent: number;
  /** Whether the last (possibly empty) chunk was sent. */
  finished: boolean;
  /** Ticks since the follower last confirmed progress. */
  idleTicks: number;
}

/** The leader's record of one follower. */
export class Progress {
  /** Highest index known durably matched on the follower. */
  match: Index = 0;
  /** Next index to send. */
  next: Index;
  /** How entries are sent (see the design note). */
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** Probe mode: a probe is unanswered. */
  probeSent = false;
  /** Replicate mode: the last index of each unanswered append, oldest first. */
  inflight: Index[] = [];
  /** Ticks since the follower last answered an append (replicate mode timeout). */
  idleTicks = 0;
  /** The follower answered something since the last check-quorum round. */
  recentActive = true;
  /** Snapshot mode: the transfer. */
  snapshot: OutgoingSnapshot | undefined;

  constructor(next: Index) {
    this.next = next;
  }

  /** Goes back to probing from `next`. */
  becomeProbe(next: Index): void {
    this.state = 'probe';
    this.next = Math.max(next, this.match + 1);
    this.probeSent = false;
    this.inflight = [];
    this.snapshot = undefined;
    this.idleTicks = 0;
  }

  /** Starts pipelining after the match. */
  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.inflight = [];
    this.idleTicks = 0;
  }

  /** Starts streaming a snapshot. */
  becomeSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.state = 'snapshot';
    this.inflight = [];
    this.snapshot = { meta, data, acked: 0, sent: 0, finished: false, idleTicks: 0 };
  }

  /** The follower matched up to `index`; true when that is news. */
  acknowledge(index: Index): boolean {
    this.idleTicks = 0;
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift();
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = index + 1;
    return true;
  }

  /** Whether another append may be sent now. */
  canSend(maxInflight: number): boolean {
    if (this.state === 'probe') return !this.probeSent;
    if (this.state === 'replicate') return this.inflight.length < maxInflight;
    return false;
  }
}
