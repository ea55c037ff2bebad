/**
 * The Raft core's vocabulary: ids, log entries, the hard state, membership and the messages peers
 * exchange. Plain data only (no classes, no functions), so every value here can cross a thread or
 * a socket as horde messages do.
 *
 * Members are named by strings: a member is a node of the cluster, and horde names nodes by their
 * node name. A number would do for one cluster but not across clusters or renames; a string costs
 * little and reads well in traces.
 *
 * Terms and indexes are plain numbers (safe integers); index 0 and term 0 mean "nothing" (the log
 * starts at index 1, the first term is 1).
 */

/** A member of a Raft group: the name of the node it runs on. */
export type MemberId = string;

/** A Raft term: 0 before any election, then 1, 2, ... */
export type Term = number;

/** A log index: entries start at 1; 0 is the empty log's last index. */
export type Index = number;

/** Who votes and who only receives the log. */
export interface Membership {
  /** Voting members: elections and commits need a majority of these. */
  readonly voters: readonly MemberId[];
  /** Non-voting members: they receive the log (to catch up before a promotion) but do not vote. */
  readonly learners: readonly MemberId[];
}

/** A change of one member, carried by a 'config' entry (one server at a time). */
export type MembershipChange =
  | {
      /** Adds a non-voting member. */
      type: 'addLearner';
      /** The member added. */
      member: MemberId;
    }
  | {
      /** Makes a learner a voter (refused until it has caught up). */
      type: 'promote';
      /** The learner promoted. */
      member: MemberId;
    }
  | {
      /** Removes a voter or learner (the leader itself included: it steps down once the change commits). */
      type: 'remove';
      /** The member removed. */
      member: MemberId;
    };

/** A log entry. */
export type Entry =
  | {
      /** Its position in the log. */
      readonly index: Index;
      /** The term of the leader that created it. */
      readonly term: Term;
      /** An application command. */
      readonly kind: 'command';
      /** The command, as the application proposed it. */
      readonly data: unknown;
    }
  | {
      /** Its position in the log. */
      readonly index: Index;
      /** The term of the leader that created it. */
      readonly term: Term;
      /** The entry a new leader appends so it can commit (the paper's Figure 8). */
      readonly kind: 'noop';
    }
  | {
      /** Its position in the log. */
      readonly index: Index;
      /** The term of the leader that created it. */
      readonly term: Term;
      /** A membership change: takes effect as soon as it is in a member's log. */
      readonly kind: 'config';
      /** The change. */
      readonly change: MembershipChange;
      /** The membership after the change. */
      readonly membership: Membership;
    };

/** What must be durable before any message that depends on it leaves: the term, the vote, and (lazily) the commit index. */
export interface HardState {
  /** The current term. */
  readonly term: Term;
  /** Who this member voted for in `term`, if anyone. */
  readonly vote: MemberId | undefined;
  /** The highest index known committed, never past what storage holds of the member's log (it may lag). */
  readonly commit: Index;
}

/** What a snapshot stands for: the state after applying every entry up to `index`. */
export interface SnapshotMeta {
  /** The last index the snapshot includes. */
  readonly index: Index;
  /** The term of that entry. */
  readonly term: Term;
  /** The membership as of that entry. */
  readonly membership: Membership;
}

/** Fields every Raft message carries. */
export interface RaftMessageBase {
  /** The sender. */
  readonly from: MemberId;
  /** The receiver. */
  readonly to: MemberId;
  /** The sender's term (for a pre-vote: the term it would campaign in). */
  readonly term: Term;
}

/** Asks for a pre-vote: "would you vote for me in `term`?" The receiver's term does not change. */
export interface PreVoteRequest extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'preVote';
  /** The candidate's last log index. */
  readonly lastIndex: Index;
  /** The candidate's last log term. */
  readonly lastTerm: Term;
}

/** Asks for a vote in `term`. */
export interface VoteRequest extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'vote';
  /** The candidate's last log index. */
  readonly lastIndex: Index;
  /** The candidate's last log term. */
  readonly lastTerm: Term;
  /** Set by a leadership transfer (after TimeoutNow): the receiver votes even while it hears from a leader. */
  readonly transfer: boolean;
}

/** Answers a pre-vote or a vote. */
export interface VoteResponse extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'preVoteResp' | 'voteResp';
  /** Whether the vote is granted. */
  readonly granted: boolean;
}

/** Replicates entries (possibly none) after (`prevIndex`, `prevTerm`). */
export interface AppendRequest extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'append';
  /** The index just before the first entry sent. */
  readonly prevIndex: Index;
  /** Its term. */
  readonly prevTerm: Term;
  /** The entries, in order. */
  readonly entries: readonly Entry[];
  /** The leader's commit index. */
  readonly commit: Index;
}

/** Answers an append: success with the index the follower has durably matched, or a rejection with a hint. */
export interface AppendResponse extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'appendResp';
  /** Whether the follower's log matched at `prevIndex`. */
  readonly success: boolean;
  /** Success: the highest index durably matching the leader's log. Rejection: the rejected `prevIndex`. */
  readonly index: Index;
  /** Rejection: the largest index at or before the rejected one whose term is at most the leader's prevTerm. */
  readonly hintIndex: Index;
  /** Rejection: the term at `hintIndex`. */
  readonly hintTerm: Term;
}

/** The leader's heartbeat: keeps its followers from campaigning, carries the commit and a read-index round. */
export interface Heartbeat extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'heartbeat';
  /** The leader's commit, capped at what the follower is known to hold. */
  readonly commit: Index;
  /** The read-index round this heartbeat confirms (0: none). */
  readonly round: number;
}

/** Answers a heartbeat, echoing its round. */
export interface HeartbeatResponse extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'heartbeatResp';
  /** The round of the heartbeat answered. */
  readonly round: number;
}

/** One chunk of a snapshot. Chunks are sent in order; the receiver asks again from the offset it holds. */
export interface SnapshotChunk extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'snapshot';
  /** The snapshot sent. */
  readonly meta: SnapshotMeta;
  /** The snapshot's total size in bytes. */
  readonly size: number;
  /** The offset of this chunk's first byte. */
  readonly offset: number;
  /** The chunk's bytes. */
  readonly data: Uint8Array;
}

/** Answers a snapshot chunk: the offset the receiver holds up to, and whether the snapshot is installed. */
export interface SnapshotResponse extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'snapshotResp';
  /** The snapshot's index. */
  readonly snapshotIndex: Index;
  /** The bytes held so far: the next chunk must start here. */
  readonly offset: number;
  /** The snapshot is durably installed (or the receiver already had everything it holds). */
  readonly installed: boolean;
  /** The chunk answered did not start at `offset`: the sender must send again from there. */
  readonly resend: boolean;
}

/** Tells a caught-up voter to campaign at once (leadership transfer). */
export interface TimeoutNow extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'timeoutNow';
}

/** A follower forwards a linearizable read to its leader. */
export interface ReadIndexRequest extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'readIndex';
  /** The read's id, as the follower's host gave it. */
  readonly id: string;
}

/** The leader's answer to a forwarded read: the index to wait for, or a refusal. */
export interface ReadIndexResponse extends RaftMessageBase {
  /** Discriminant. */
  readonly type: 'readIndexResp';
  /** The read's id. */
  readonly id: string;
  /** Whether the leader confirmed the read. */
  readonly ok: boolean;
  /** The index the reader must have applied before it reads. */
  readonly index: Index;
}

/** Every message between members. */
export type RaftMessage =
  | PreVoteRequest
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

/** A member's role. */
export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';
