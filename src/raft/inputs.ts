/**
 * The core's inputs and answers as data: `RaftInput` (one per method of `RaftCore`, for a host that
 * queues them in a mailbox), `RaftAnswer` (accepted, or refused with the leader to redirect to) and
 * `RaftStatus` (a member's state for status pages and tests).
 */
import type { Index, MemberId, Membership, MembershipChange, RaftMessage, RaftRole, Term } from './types.js';

/** Why a proposal, membership change or transfer was refused. */
export type RefusalReason = 'notLeader' | 'transferring' | 'overloaded' | 'configPending' | 'invalid';

/** The answer to an input: accepted (a proposal: at which index and term), or refused and why. */
export type RaftAnswer =
  | {
      /** Accepted. */
      ok: true;
      /** A proposal or membership change: the index of its entry. */
      index?: Index;
      /** ... and its term: the entry is committed if that index commits with that term. */
      term?: Term;
    }
  | {
      /** Refused. */
      ok: false;
      /** Why. */
      reason: RefusalReason;
      /** The leader as this member knows it (where to redirect). */
      leader: MemberId | undefined;
      /** Details for people. */
      message: string;
    };

/** One input of the core, for a host that queues them (each is also a method). */
export type RaftInput =
  | {
      /** A message from a peer. */
      type: 'message';
      /** The message. */
      message: RaftMessage;
    }
  | {
      /** One logical tick. */
      type: 'tick';
    }
  | {
      /** A command to replicate. */
      type: 'propose';
      /** The command. */
      data: unknown;
    }
  | {
      /** A linearizable read. */
      type: 'readIndex';
      /** The read's id (unique among the reads in flight). */
      id: string;
    }
  | {
      /** Storage made entries durable up to (`index`, `term`). */
      type: 'persisted';
      /** The last index written. */
      index: Index;
      /** Its term. */
      term: Term;
    }
  | {
      /** The state machine applied up to `index`. */
      type: 'applied';
      /** The index. */
      index: Index;
    }
  | {
      /** The state machine's snapshot at `index`. */
      type: 'snapshotTaken';
      /** The applied index the snapshot stands for. */
      index: Index;
      /** Its bytes. */
      data: Uint8Array;
    }
  | {
      /** Storage installed the snapshot received at `index`. */
      type: 'snapshotInstalled';
      /** The snapshot's index. */
      index: Index;
    }
  | {
      /** Hand leadership to `to`. */
      type: 'transferLeadership';
      /** The voter to lead. */
      to: MemberId;
    }
  | {
      /** Change one member. */
      type: 'changeMembership';
      /** The change. */
      change: MembershipChange;
    }
  | {
      /** The failure detector saw the leader's node down (idle groups). */
      type: 'leaderNodeDown';
    };

/** A member's progress as the leader sees it. */
export interface MemberProgress {
  /** The member. */
  readonly member: MemberId;
  /** Highest index known durably matched. */
  readonly match: Index;
  /** Next index to send. */
  readonly next: Index;
  /** How it is being replicated to. */
  readonly state: 'probe' | 'replicate' | 'snapshot';
}

/** A snapshot of the core's state, for status pages and tests. */
export interface RaftStatus {
  /** This member. */
  readonly id: MemberId;
  /** Its role. */
  readonly role: RaftRole;
  /** Its term. */
  readonly term: Term;
  /** Its vote in `term`. */
  readonly vote: MemberId | undefined;
  /** The leader it knows of. */
  readonly leader: MemberId | undefined;
  /** Highest index known committed. */
  readonly commit: Index;
  /** Highest index the state machine reported applied. */
  readonly applied: Index;
  /** The last log index. */
  readonly lastIndex: Index;
  /** The last index durable in local storage. */
  readonly persisted: Index;
  /** The index the in-memory log starts after. */
  readonly logBase: Index;
  /** The latest snapshot's index (0: none). */
  readonly snapshotIndex: Index;
  /** The current membership. */
  readonly membership: Membership;
  /** Elections this member started (real campaigns, not pre-votes). */
  readonly elections: number;
  /** Leader only: each other member's progress. */
  readonly progress: readonly MemberProgress[];
}
