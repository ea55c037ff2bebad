/**
 * The Raft core's options: every timing is in logical ticks (the host decides how long a tick is;
 * the core never reads a clock), every buffer has a bound. `resolveRaftOptions` fills defaults and
 * refuses values that would break the protocol with HORDE_INVALID_OPTION.
 */
import { invalidOption } from '../errors.js';
import type { Random } from '../internal/host.js';

/** Options of a `RaftCore`. */
export interface RaftOptions {
  /** This member's id. */
  id: string;
  /** Draws each election timeout in [electionTicks, 2 * electionTicks). */
  random: Random;
  /** The base election timeout, in ticks. Default 10. */
  electionTicks?: number;
  /** The leader's heartbeat interval, in ticks; must be less than `electionTicks`. Default 2. */
  heartbeatTicks?: number;
  /** Ask for a vote only after a majority granted a pre-vote (a rejoining member does not disrupt). Default true. */
  preVote?: boolean;
  /**
   * The leader steps down when it has not heard from a majority within an election timeout, and a
   * follower that heard from its leader within the timeout refuses votes (the leader's lease). Default true.
   */
  checkQuorum?: boolean;
  /** At most this many append messages in flight per follower (the pipeline window). Default 8. */
  maxInflight?: number;
  /** At most this many entries per append message (proposals between two drains are batched up to it). Default 64. */
  maxEntriesPerMessage?: number;
  /** A follower in replicate mode that answers nothing for this many ticks is probed again. Default 2 * electionTicks. */
  replicationTimeoutTicks?: number;
  /** At most this many proposals waiting for replication beyond the commit index; more are refused ('overloaded'). Default 4096. */
  maxUncommitted?: number;
  /** Ask the host for a snapshot when this many applied entries follow the last one. Default 1024. */
  snapshotEntries?: number;
  /** Entries kept in the log behind a snapshot, so slightly late followers need no snapshot. Default 16. */
  compactionTrailing?: number;
  /** Bytes per snapshot chunk. Default 65536. */
  snapshotChunkBytes?: number;
  /** Snapshot chunks in flight per follower (flow control). Default 4. */
  snapshotWindow?: number;
  /** Chunks not acknowledged for this many ticks are sent again from the receiver's last offset (never from zero). Default electionTicks. */
  snapshotResendTicks?: number;
  /** At most this many reads waiting for confirmation; more are refused ('overloaded'). Default 4096. */
  maxPendingReads?: number;
  /** A learner may be promoted when its match index is within this many entries of the leader's last index. Default 32. */
  promoteLag?: number;
  /**
   * When false, an idle leader (every follower caught up, no read waiting) sends no heartbeats and a
   * follower with a leader never campaigns on its own: the host calls `leaderNodeDown()` when its node
   * failure detector sees the leader's node down (many idle groups then cost no CPU). Default true.
   */
  heartbeatsWhenIdle?: boolean;
}

/** Options with every default filled in. */
export type ResolvedRaftOptions = Required<RaftOptions>;

/** Fills the defaults and checks every option; throws HORDE_INVALID_OPTION for a bad one. */
export function resolveRaftOptions(options: RaftOptions): ResolvedRaftOptions {
  if (typeof options.id !== 'string' || options.id === '') invalidOption('id', 'a non-empty string', options.id);
  if (typeof options.random?.next !== 'function') invalidOption('random', 'a Random', options.random);
  const electionTicks = options.electionTicks ?? 10;
  positiveInt('electionTicks', electionTicks);
  const heartbeatTicks = options.heartbeatTicks ?? 2;
  positiveInt('heartbeatTicks', heartbeatTicks);
  if (heartbeatTicks >= electionTicks) invalidOption('heartbeatTicks', 'fewer ticks than electionTicks', heartbeatTicks);
  const resolved: ResolvedRaftOptions = {
    id: options.id,
    random: options.random,
    electionTicks,
    heartbeatTicks,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    maxInflight: options.maxInflight ?? 8,
    maxEntriesPerMessage: options.maxEntriesPerMessage ?? 64,
    replicationTimeoutTicks: options.replicationTimeoutTicks ?? 2 * electionTicks,
    maxUncommitted: options.maxUncommitted ?? 4096,
    snapshotEntries: options.snapshotEntries ?? 1024,
    compactionTrailing: options.compactionTrailing ?? 16,
    snapshotChunkBytes: options.snapshotChunkBytes ?? 65536,
    snapshotWindow: options.snapshotWindow ?? 4,
    snapshotResendTicks: options.snapshotResendTicks ?? electionTicks,
    maxPendingReads: options.maxPendingReads ?? 4096,
    promoteLag: options.promoteLag ?? 32,
    heartbeatsWhenIdle: options.heartbeatsWhenIdle ?? true,
  };
  for (const name of [
    'maxInflight',
    'maxEntriesPerMessage',
    'replicationTimeoutTicks',
    'maxUncommitted',
    'snapshotEntries',
    'snapshotChunkBytes',
    'snapshotWindow',
    'snapshotResendTicks',
    'maxPendingReads',
  ] as const) {
    positiveInt(name, resolved[name]);
  }
  for (const name of ['compactionTrailing', 'promoteLag'] as const) {
    if (!Number.isSafeInteger(resolved[name]) || resolved[name] < 0) invalidOption(name, 'an integer >= 0', resolved[name]);
  }
  return resolved;
}

function positiveInt(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) invalidOption(name, 'an integer >= 1', value);
}
