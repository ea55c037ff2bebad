/**
 * RaftCore: one member of a Raft group as a deterministic state machine. It does no I/O, reads no
 * clock and draws chance only from the injected Random (election timeouts). A host feeds it inputs
 * (peer messages, proposals, reads, ticks, storage and state machine acknowledgements) and drains
 * `ready()`: messages to send, entries and hard state to persist, committed entries to apply,
 * confirmed reads, snapshots to take or install (ready.ts says in what order). In horde the host
 * is one process: its mailbox receives all the inputs, so the core needs no locking.
 *
 * Protocol (Ongaro's dissertation, with etcd's refinements):
 * - Elections: randomised timeouts in [T, 2T) ticks; pre-vote (a member asks whether it could win
 *   before raising its term, so a rejoining member does not depose a healthy leader);
 *   check-quorum (a leader that has not heard from a majority within T steps down; a follower that
 *   heard from its leader within T refuses votes, except for a leadership transfer).
 * - A new leader appends a no-op and commits only entries of its own term by counting (Figure 8).
 * - Replication per follower (progress.ts): probe, pipelined replicate with a bounded window, or a
 *   chunked snapshot. Proposals between two drains go out in one append per follower (batching).
 *   The leader counts its own match only once its storage acknowledged it (`persisted`), so its
 *   write runs in parallel with replication; a follower acknowledges only persisted entries.
 * - ReadIndex (read-index.ts); leadership transfer (catch the target up, then TimeoutNow; proposals
 *   are refused meanwhile; abandoned after an election timeout); membership changes one server at
 *   a time through 'config' entries that take effect when appended, learners promoted only once
 *   caught up, the leader removing itself steps down once the change commits.
 * - Snapshots: the core asks for one when `snapshotEntries` applied entries follow the last, then
 *   compacts its log keeping `compactionTrailing` entries.
 *
 * Idle groups: with `heartbeatsWhenIdle: false`, a leader whose followers have everything sends no
 * heartbeats, and a follower that has a leader never campaigns until the host reports the leader's
 * node down (`leaderNodeDown()`, from horde's node failure detector); check-quorum is then judged
 * only over periods in which heartbeats flowed.
 *
 * Bounds: entries beyond the commit index (`maxUncommitted`; proposals past it are refused),
 * reads waiting (`maxPendingReads`; a read forwarded to the leader fails with 'timeout' after two
 * election timeouts without an answer), the window per follower (`maxInflight` appends of at most
 * `maxEntriesPerMessage` entries, `snapshotWindow` chunks).
 */
import { RaftLog, type LogBase } from './log.js';
import { applyChange, hasQuorum, isMember, majority, quorumIndex } from './membership.js';
import { resolveRaftOptions, type RaftOptions, type ResolvedRaftOptions } from './options.js';
import { Progress } from './progress.js';
import { ReadRounds, type PendingRead } from './read-index.js';
import type { AppendWrite, RaftPersistedState, RaftReady, ReadFailure, ReadState } from './ready.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import type { RaftAnswer, RaftInput, RaftStatus, RefusalReason } from './inputs.js';
import type {
  AppendRequest,
  AppendResponse,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Index,
  MemberId,
  MembershipChange,
  RaftMessage,
  RaftRole,
  ReadIndexRequest,
  ReadIndexResponse,
  SnapshotChunk,
  SnapshotMeta,
  SnapshotResponse,
  Term,
  VoteRequest,
  PreVoteRequest,
  VoteResponse,
} from './types.js';

/** One member of a Raft group: a deterministic protocol state machine (see the module note). */
export class RaftCore {
  private readonly opts: ResolvedRaftOptions;
  private readonly id: MemberId;
  private readonly log: RaftLog;
  private roleValue: RaftRole = 'follower';
  private term: Term;
  private vote: MemberId | undefined;
  private leader: MemberId | undefined;
  private commit: Index;
  private appliedIndex: Index;
  private applyCursor: Index;
  private persistedIndex: Index;
  private matchedBound: Index;
  private ackSent: Index = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedTimeout = 0;
  private leaderDown = false;
  private idleSkipped = false;
  private votes = new Map<MemberId, boolean>();
  private progress = new Map<MemberId, Progress>();
  private transferee: MemberId | undefined;
  private pendingConfIndex: Index = 0;
  private reads = new ReadRounds();
  private waitingReads: { id: string; origin: MemberId }[] = [];
  /** Reads forwarded to the leader: id -> ticks waited (they expire: the request or its answer may be lost). */
  private forwardedReads = new Map<string, number>();
  private snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  private snapshotRequested = false;
  private receiver = new SnapshotReceiver();
  private installing: { meta: SnapshotMeta; size: number; leader: MemberId } | undefined;
  private commitDirty = false;
  private elections = 0;
  // What the next ready() hands out.
  private savedHardState: HardState;
  private writeFrom = Infinity;
  private messages: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private readFailures: ReadFailure[] = [];
  private installOut: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  private saveOut: { meta: SnapshotMeta; data: Uint8Array; base: LogBase } | undefined;
  private takeSnapshotOut: Index | undefined;

  /**
   * A member started from what its storage holds (`MemoryRaftPersistence.load()`, or a new group's
   * initial state). The state machine must be restored from `state.snapshot` by the host; the
   * committed entries after it are handed out again to be applied.
   */
  constructor(options: RaftOptions, state: RaftPersistedState) {
    this.opts = resolveRaftOptions(options);
    this.id = this.opts.id;
    this.log = new RaftLog(state.base, state.entries);
    this.term = state.hardState.term;
    this.vote = state.hardState.vote;
    this.snapshot = state.snapshot === undefined ? undefined : { meta: state.snapshot.meta, data: state.snapshot.data };
    const snapshotIndex = state.snapshot?.meta.index ?? 0;
    if (snapshotIndex > this.log.lastIndex()) throw new Error('raft: the snapshot is past the stored log');
    this.commit = Math.max(snapshotIndex, Math.min(state.hardState.commit, this.log.lastIndex()), state.base.index);
    this.appliedIndex = snapshotIndex;
    this.applyCursor = snapshotIndex;
    this.persistedIndex = this.log.lastIndex();
    this.matchedBound = this.commit;
    this.savedHardState = { term: this.term, vote: this.vote, commit: state.hardState.commit };
    this.resetElectionTimer();
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Feeds one input; the same as calling its method. */
  step(input: RaftInput): RaftAnswer {
    switch (input.type) {
      case 'message':
        this.receive(input.message);
        return { ok: true };
      case 'tick':
        this.tick();
        return { ok: true };
      case 'propose':
        return this.propose(input.data);
      case 'readIndex':
        this.readIndex(input.id);
        return { ok: true };
      case 'persisted':
        this.persisted(input.index, input.term);
        return { ok: true };
      case 'applied':
        this.applied(input.index);
        return { ok: true };
      case 'snapshotTaken':
        this.snapshotTaken(input.index, input.data);
        return { ok: true };
      case 'snapshotInstalled':
        this.snapshotInstalled(input.index);
        return { ok: true };
      case 'transferLeadership':
        return this.transferLeadership(input.to);
      case 'changeMembership':
        return this.changeMembership(input.change);
      case 'leaderNodeDown':
        this.leaderNodeDown();
        return { ok: true };
    }
  }

  /** One logical tick: election and heartbeat timers. */
  tick(): void {
    if (this.roleValue === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Proposes a command; the leader appends it (a follower refuses with the leader to redirect to). */
  propose(data: unknown): RaftAnswer {
    const refusal = this.refuseWrite();
    if (refusal !== undefined) return refusal;
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: 'command', data };
    this.appendLocal(entry);
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** Asks for a linearizable read named `id`; the answer comes in `ready().reads` or `readFailures`. */
  readIndex(id: string): void {
    if (this.roleValue === 'leader') {
      this.leaderRead(id, this.id);
      return;
    }
    if (this.leader === undefined) {
      this.readFailures.push({ id, reason: 'noLeader' });
      return;
    }
    if (this.forwardedReads.size >= this.opts.maxPendingReads) {
      this.readFailures.push({ id, reason: 'overloaded' });
      return;
    }
    this.forwardedReads.set(id, 0);
    this.send({ type: 'readIndex', from: this.id, to: this.leader, term: this.term, id });
  }

  /** Storage made the entries up to (`index`, `term`) durable. */
  persisted(index: Index, term: Term): void {
    if (index <= this.persistedIndex || this.log.term(index) !== term) return;
    this.persistedIndex = index;
    if (this.roleValue === 'leader') this.maybeCommit();
    else this.sendAck();
  }

  /** The state machine applied every entry up to `index`. */
  applied(index: Index): void {
    if (index <= this.appliedIndex) return;
    this.appliedIndex = Math.min(index, this.applyCursor);
    const base = this.snapshot?.meta.index ?? 0;
    if (!this.snapshotRequested && this.appliedIndex - base >= this.opts.snapshotEntries) {
      this.snapshotRequested = true;
      this.takeSnapshotOut = this.appliedIndex;
    }
  }

  /** The state machine's snapshot at `index` (at most the applied index): stored, then the log is compacted. */
  snapshotTaken(index: Index, data: Uint8Array): void {
    this.snapshotRequested = false;
    const term = this.log.term(index);
    if (term === undefined || index > this.appliedIndex || index <= (this.snapshot?.meta.index ?? 0)) return;
    const meta: SnapshotMeta = { index, term, membership: this.log.membershipAt(index) };
    this.snapshot = { meta, data };
    const compactTo = Math.min(index - this.opts.compactionTrailing, this.persistedIndex);
    const base = compactTo > this.log.base.index ? this.log.compact(compactTo) : this.log.base;
    this.saveOut = { meta, data, base };
  }

  /** Storage installed the snapshot received at `index` (and the state machine was restored from it). */
  snapshotInstalled(index: Index): void {
    const installing = this.installing;
    if (installing === undefined || installing.meta.index !== index) return;
    this.installing = undefined;
    if (this.log.base.index === index) this.persistedIndex = Math.max(this.persistedIndex, index);
    if (this.leader === installing.leader && this.roleValue === 'follower') {
      this.send({
        type: 'snapshotResp',
        from: this.id,
        to: installing.leader,
        term: this.term,
        snapshotIndex: index,
        offset: installing.size,
        installed: true,
        resend: false,
      });
    }
    this.sendAck();
  }

  /** Starts handing leadership to `to` (a voter): it is caught up, then told to campaign at once. */
  transferLeadership(to: MemberId): RaftAnswer {
    if (this.roleValue !== 'leader') return this.refusal('notLeader', 'only the leader transfers leadership');
    if (to === this.id) return { ok: true };
    if (!this.log.membership().voters.includes(to)) return this.refusal('invalid', `${to} is not a voter`);
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
    return { ok: true };
  }

  /** Proposes a change of one member (one uncommitted change at a time; a learner is promoted only once caught up). */
  changeMembership(change: MembershipChange): RaftAnswer {
    const refusal = this.refuseWrite();
    if (refusal !== undefined) return refusal;
    if (this.pendingConfIndex > this.commit) return this.refusal('configPending', 'a membership change is not committed yet');
    const membership = applyChange(this.log.membership(), change);
    if (typeof membership === 'string') return this.refusal('invalid', membership);
    if (change.type === 'promote') {
      const pr = this.progress.get(change.member);
      if (pr === undefined || pr.match + this.opts.promoteLag < this.log.lastIndex()) {
        return this.refusal('invalid', `${change.member} has not caught up (match ${pr?.match ?? 0} of ${this.log.lastIndex()})`);
      }
    }
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind: 'config', change, membership };
    this.appendLocal(entry);
    this.pendingConfIndex = entry.index;
    this.syncProgress();
    this.maybeCommit();
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** The leader's node is down (from the failure detector): campaign after a randomised timeout. */
  leaderNodeDown(): void {
    if (this.roleValue === 'leader') return;
    this.leaderDown = true;
    this.electionElapsed = Math.max(this.electionElapsed, this.opts.electionTicks);
  }

  /** A message from a peer. */
  receive(m: RaftMessage): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        const inLease = this.opts.checkQuorum && this.leader !== undefined && this.electionElapsed < this.opts.electionTicks;
        const transfer = m.type === 'vote' && m.transfer;
        if (inLease && !transfer) return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResp' && m.granted)) {
        // Neither changes the receiver's term.
      } else {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : undefined);
      }
    } else if (m.term < this.term) {
      if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot')) {
        // Tell a stale leader of the newer term, so it steps down.
        this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, round: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, granted: false });
      }
      return;
    }
    switch (m.type) {
      case 'preVote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
      case 'preVoteResp':
      case 'voteResp':
        this.handleVoteResponse(m);
        return;
      case 'append':
        this.fromLeader(m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.fromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.fromLeader(m.from);
        this.handleSnapshotChunk(m);
        return;
      case 'appendResp':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m);
        return;
      case 'snapshotResp':
        this.handleSnapshotResponse(m);
        return;
      case 'timeoutNow':
        if (this.roleValue !== 'leader' && this.log.membership().voters.includes(this.id)) this.campaign('real', true);
        return;
      case 'readIndex':
        this.handleReadIndex(m);
        return;
      case 'readIndexResp':
        this.handleReadIndexResponse(m);
        return;
    }
  }

  // ---- output -------------------------------------------------------------------------------

  /** Whether `ready()` has anything to hand out. */
  hasReady(): boolean {
    this.flush();
    return (
      this.messages.length > 0 ||
      this.writeFrom <= this.log.lastIndex() + 1 ||
      this.applyCursor < this.commit ||
      this.readStates.length > 0 ||
      this.readFailures.length > 0 ||
      this.installOut !== undefined ||
      this.saveOut !== undefined ||
      this.takeSnapshotOut !== undefined ||
      this.hardStateChanged()
    );
  }

  /** Drains the output since the last call (ready.ts says how to carry it out). */
  ready(): RaftReady {
    this.flush();
    const hardState: HardState | undefined = this.hardStateChanged() ? { term: this.term, vote: this.vote, commit: this.durableCommit() } : undefined;
    if (hardState !== undefined) this.savedHardState = hardState;
    let append: AppendWrite | undefined;
    if (this.writeFrom <= this.log.lastIndex() + 1) {
      append = { from: this.writeFrom, entries: this.log.slice(this.writeFrom, this.log.lastIndex()) };
    }
    this.writeFrom = Infinity;
    const committed = this.log.slice(this.applyCursor + 1, this.commit);
    this.applyCursor = this.commit;
    const ready: RaftReady = {
      hardState,
      installSnapshot: this.installOut,
      saveSnapshot: this.saveOut,
      append,
      messages: this.messages,
      committed,
      reads: this.readStates,
      readFailures: this.readFailures,
      takeSnapshot: this.takeSnapshotOut,
    };
    this.installOut = undefined;
    this.saveOut = undefined;
    this.takeSnapshotOut = undefined;
    this.messages = [];
    this.readStates = [];
    this.readFailures = [];
    return ready;
  }

  /** The member's role. */
  get role(): RaftRole {
    return this.roleValue;
  }

  /** The entry at `index`, if the in-memory log holds it (tests, status). */
  entryAt(index: Index): Entry | undefined {
    return this.log.entry(index);
  }

  /** The term at `index`, if the in-memory log knows it (its base's included). */
  termAt(index: Index): Term | undefined {
    return this.log.term(index);
  }

  /** The member's state. */
  status(): RaftStatus {
    return {
      id: this.id,
      role: this.roleValue,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.commit,
      applied: this.appliedIndex,
      lastIndex: this.log.lastIndex(),
      persisted: this.persistedIndex,
      logBase: this.log.base.index,
      snapshotIndex: this.snapshot?.meta.index ?? 0,
      membership: this.log.membership(),
      elections: this.elections,
      progress: [...this.progress].map(([member, pr]) => ({ member, match: pr.match, next: pr.next, state: pr.state })),
    };
  }

  // ---- roles and elections ------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    for (const [id, waited] of this.forwardedReads) {
      if (waited + 1 < 2 * this.opts.electionTicks) this.forwardedReads.set(id, waited + 1);
      else {
        this.forwardedReads.delete(id);
        this.readFailures.push({ id, reason: 'timeout' });
      }
    }
    const mayCampaign = this.opts.heartbeatsWhenIdle || this.leader === undefined || this.leaderDown;
    if (mayCampaign && this.electionElapsed >= this.randomizedTimeout && this.promotable()) {
      this.campaign(this.opts.preVote ? 'pre' : 'real', false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum && !this.idleSkipped) {
        const active = hasQuorum(this.log.membership(), (m) => m === this.id || this.progress.get(m)?.recentActive === true);
        if (!active) {
          this.becomeFollower(this.term, undefined);
          return;
        }
      }
      this.idleSkipped = false;
      for (const pr of this.progress.values()) pr.recentActive = false;
      this.transferee = undefined;
    }
    for (const pr of this.progress.values()) {
      if (pr.state === 'replicate' && pr.inflight.length > 0 && ++pr.idleTicks >= this.opts.replicationTimeoutTicks) pr.becomeProbe(pr.match + 1);
      const snap = pr.snapshot;
      if (snap !== undefined && ++snap.idleTicks >= this.opts.snapshotResendTicks) {
        snap.idleTicks = 0;
        snap.sent = snap.acked;
        snap.finished = false;
      }
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      if (this.opts.heartbeatsWhenIdle || !this.isIdle()) this.broadcastHeartbeat();
      else this.idleSkipped = true;
    }
  }

  private promotable(): boolean {
    return this.log.membership().voters.includes(this.id) && this.installing === undefined;
  }

  private campaign(kind: 'pre' | 'real', transfer: boolean): void {
    this.electionElapsed = 0;
    this.randomizedTimeout = this.drawTimeout();
    this.leader = undefined;
    this.failForwardedReads();
    this.votes = new Map([[this.id, true]]);
    const membership = this.log.membership();
    let term = this.term + 1;
    if (kind === 'pre') {
      this.roleValue = 'preCandidate';
    } else {
      this.failReads('notLeader');
      this.roleValue = 'candidate';
      this.term = term;
      this.vote = this.id;
      this.elections++;
      this.matchedBound = this.commit;
      this.ackSent = 0;
      term = this.term;
    }
    if (majority(membership) <= 1) {
      this.winVote(kind);
      return;
    }
    for (const voter of membership.voters) {
      if (voter === this.id) continue;
      const base = { from: this.id, to: voter, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() };
      if (kind === 'pre') this.send({ ...base, type: 'preVote' });
      else this.send({ ...base, type: 'vote', transfer });
    }
  }

  private winVote(kind: 'pre' | 'real'): void {
    if (kind === 'pre') this.campaign('real', false);
    else this.becomeLeader();
  }

  private handleVoteRequest(m: PreVoteRequest | VoteRequest): void {
    const pre = m.type === 'preVote';
    const canVote = this.vote === m.from || (this.vote === undefined && this.leader === undefined) || (pre && m.term > this.term);
    const granted = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (granted && !pre) {
      this.vote = m.from;
      this.electionElapsed = 0;
    }
    this.send({ type: pre ? 'preVoteResp' : 'voteResp', from: this.id, to: m.from, term: granted ? m.term : this.term, granted });
  }

  private handleVoteResponse(m: VoteResponse): void {
    const kind = m.type === 'preVoteResp' ? 'pre' : 'real';
    if ((kind === 'pre' && this.roleValue !== 'preCandidate') || (kind === 'real' && this.roleValue !== 'candidate')) return;
    this.votes.set(m.from, m.granted);
    const membership = this.log.membership();
    if (hasQuorum(membership, (v) => this.votes.get(v) === true)) this.winVote(kind);
    else if (hasQuorum(membership, (v) => this.votes.get(v) === false)) this.becomeFollower(this.term, undefined);
  }

  private becomeFollower(term: Term, leader: MemberId | undefined): void {
    if (term > this.term) {
      this.term = term;
      this.vote = undefined;
      this.matchedBound = this.commit;
      this.ackSent = 0;
    }
    if (this.roleValue === 'leader') this.failReads('notLeader');
    if (this.leader !== leader) this.failForwardedReads();
    this.roleValue = 'follower';
    this.leader = leader;
    this.leaderDown = false;
    this.progress.clear();
    this.transferee = undefined;
    this.electionElapsed = 0;
    this.randomizedTimeout = this.drawTimeout();
  }

  private becomeLeader(): void {
    this.roleValue = 'leader';
    this.leader = this.id;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.idleSkipped = false;
    this.transferee = undefined;
    this.progress.clear();
    this.reads = new ReadRounds();
    this.syncProgress();
    this.appendLocal({ index: this.log.lastIndex() + 1, term: this.term, kind: 'noop' });
    // Conservative: no new change until every config entry of earlier terms is committed.
    this.pendingConfIndex = this.log.lastIndex();
    this.maybeCommit();
  }

  private fromLeader(leader: MemberId): void {
    if (this.roleValue !== 'follower' || this.leader !== leader) this.becomeFollower(this.term, leader);
    this.electionElapsed = 0;
    this.leaderDown = false;
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedTimeout = this.drawTimeout();
  }

  private drawTimeout(): number {
    const t = this.opts.electionTicks;
    return t + Math.min(t - 1, Math.floor(this.opts.random.next() * t));
  }

  // ---- replication: leader ------------------------------------------------------------------

  private refuseWrite(): RaftAnswer | undefined {
    if (this.roleValue !== 'leader') return this.refusal('notLeader', `${this.id} is not the leader`);
    if (this.transferee !== undefined) return this.refusal('transferring', `leadership is moving to ${this.transferee}`);
    if (this.log.lastIndex() - this.commit >= this.opts.maxUncommitted) {
      return this.refusal('overloaded', `${this.opts.maxUncommitted} entries wait for a commit (maxUncommitted)`);
    }
    return undefined;
  }

  private refusal(reason: RefusalReason, message: string): RaftAnswer {
    return { ok: false, reason, leader: this.leader, message };
  }

  private appendLocal(entry: Entry): void {
    this.log.push(entry);
    if (this.writeFrom > entry.index) this.writeFrom = entry.index;
  }

  /** Progress entries for exactly the other members of the current membership. */
  private syncProgress(): void {
    const membership = this.log.membership();
    for (const member of [...membership.voters, ...membership.learners]) {
      if (member !== this.id && !this.progress.has(member)) this.progress.set(member, new Progress(this.log.lastIndex() + 1));
    }
    for (const member of [...this.progress.keys()]) if (!isMember(membership, member)) this.progress.delete(member);
  }

  private maybeCommit(): void {
    if (this.roleValue !== 'leader') return;
    const membership = this.log.membership();
    const index = quorumIndex(membership, (m) => (m === this.id ? this.persistedIndex : (this.progress.get(m)?.match ?? 0)));
    if (index > this.commit && this.log.term(index) === this.term) {
      this.commit = index;
      this.commitDirty = true;
      this.afterLeaderCommit();
    }
  }

  private afterLeaderCommit(): void {
    if (this.waitingReads.length > 0) {
      const waiting = this.waitingReads;
      this.waitingReads = [];
      for (const read of waiting) this.leaderRead(read.id, read.origin);
    }
    const membership = this.log.membership();
    if (!isMember(membership, this.id) && this.pendingConfIndex <= this.commit) {
      // This leader was removed and the change is committed: hand over to the most caught-up voter.
      let best: MemberId | undefined;
      let bestMatch = -1;
      for (const voter of membership.voters) {
        const match = this.progress.get(voter)?.match ?? 0;
        if (match > bestMatch) {
          best = voter;
          bestMatch = match;
        }
      }
      this.flush();
      if (best !== undefined && bestMatch === this.log.lastIndex()) this.send({ type: 'timeoutNow', from: this.id, to: best, term: this.term });
      this.becomeFollower(this.term, undefined);
    }
  }

  /** Sends what each follower lacks (entries, commit, snapshot chunks, heartbeats for a new read round). */
  private flush(): void {
    if (this.roleValue !== 'leader') return;
    if (this.reads.roundUnsent) this.broadcastHeartbeat();
    for (const [member, pr] of this.progress) this.replicateTo(member, pr);
    this.commitDirty = false;
  }

  private replicateTo(member: MemberId, pr: Progress): void {
    const last = this.log.lastIndex();
    let sentCommit = false;
    for (;;) {
      if (pr.state === 'snapshot') {
        this.sendChunks(member, pr);
        return;
      }
      if (!pr.canSend(this.opts.maxInflight)) break;
      const needsProbe = pr.state === 'probe' && pr.match < pr.next - 1;
      if (pr.next > last && !needsProbe && !(this.commitDirty && !sentCommit)) break;
      const prevIndex = pr.next - 1;
      const prevTerm = this.log.term(prevIndex);
      if (prevTerm === undefined) {
        if (this.snapshot === undefined) throw new Error(`raft: ${this.id} has no snapshot for ${member} at ${prevIndex}`);
        pr.becomeSnapshot(this.snapshot.meta, this.snapshot.data);
        continue;
      }
      const to = Math.min(last, prevIndex + this.opts.maxEntriesPerMessage);
      const entries = this.log.slice(pr.next, to);
      this.send({ type: 'append', from: this.id, to: member, term: this.term, prevIndex, prevTerm, entries, commit: this.commit });
      sentCommit = true;
      if (pr.state === 'probe') {
        pr.probeSent = true;
        break;
      }
      if (entries.length === 0) break;
      pr.next = to + 1;
      pr.inflight.push(to);
    }
  }

  private sendChunks(member: MemberId, pr: Progress): void {
    const snap = pr.snapshot!;
    const size = snap.data.length;
    const window = this.opts.snapshotWindow * this.opts.snapshotChunkBytes;
    while (!snap.finished && snap.sent - snap.acked < window) {
      const end = Math.min(size, snap.sent + this.opts.snapshotChunkBytes);
      const chunk: SnapshotChunk = {
        type: 'snapshot',
        from: this.id,
        to: member,
        term: this.term,
        meta: snap.meta,
        size,
        offset: snap.sent,
        data: snap.data.subarray(snap.sent, end),
      };
      this.send(chunk);
      snap.sent = end;
      if (end === size) snap.finished = true;
    }
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (this.roleValue !== 'leader' || pr === undefined) return;
    pr.recentActive = true;
    if (m.success) {
      if (pr.acknowledge(m.index)) {
        this.maybeCommit();
        if (this.transferee === m.from && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', from: this.id, to: m.from, term: this.term });
      }
      if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.match >= pr.snapshot!.meta.index)) pr.becomeReplicate();
      return;
    }
    if (pr.state === 'replicate' ? m.index <= pr.match : m.index !== pr.next - 1 || pr.state === 'snapshot') return;
    const hint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
    pr.becomeProbe(Math.min(hint + 1, m.index));
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (this.roleValue !== 'leader' || pr === undefined) return;
    pr.recentActive = true;
    if (pr.state === 'probe') pr.probeSent = false;
    if (m.round > 0) for (const read of this.reads.ack(m.from, m.round, this.id, this.log.membership())) this.confirmRead(read);
  }

  private handleSnapshotResponse(m: SnapshotResponse): void {
    const pr = this.progress.get(m.from);
    if (this.roleValue !== 'leader' || pr === undefined) return;
    pr.recentActive = true;
    const snap = pr.snapshot;
    if (snap === undefined || snap.meta.index !== m.snapshotIndex) {
      if (m.installed && pr.acknowledge(m.snapshotIndex)) this.maybeCommit();
      return;
    }
    if (m.installed) {
      pr.acknowledge(m.snapshotIndex);
      pr.becomeProbe(m.snapshotIndex + 1);
      this.maybeCommit();
      return;
    }
    if (m.offset > snap.acked) {
      snap.acked = m.offset;
      snap.idleTicks = 0;
    }
    if (m.resend || m.offset < snap.acked) {
      snap.acked = m.offset;
      snap.sent = m.offset;
      snap.finished = false;
    }
  }

  private broadcastHeartbeat(): void {
    const round = this.reads.round;
    this.reads.roundUnsent = false;
    for (const [member, pr] of this.progress) {
      const heartbeat: Heartbeat = { type: 'heartbeat', from: this.id, to: member, term: this.term, commit: Math.min(pr.match, this.commit), round };
      this.send(heartbeat);
    }
    if (this.reads.size > 0) for (const read of this.reads.ack(this.id, round, this.id, this.log.membership())) this.confirmRead(read);
  }

  private isIdle(): boolean {
    if (this.reads.size > 0 || this.waitingReads.length > 0 || this.commit < this.log.lastIndex()) return false;
    for (const pr of this.progress.values()) if (pr.state !== 'replicate' || pr.match < this.commit) return false;
    return true;
  }

  // ---- replication: follower ----------------------------------------------------------------

  private handleAppend(m: AppendRequest): void {
    let prevIndex = m.prevIndex;
    let entries = m.entries;
    if (prevIndex < this.commit) {
      // Everything up to the commit matches any leader's log: skip those entries.
      this.matchedBound = Math.max(this.matchedBound, this.commit);
      const skip = this.commit - prevIndex;
      if (skip >= entries.length) {
        this.replyAppend(m.from, true, Math.min(this.commit, this.persistedIndex), 0, 0);
        return;
      }
      entries = entries.slice(skip);
      prevIndex = this.commit;
    } else if (this.log.term(prevIndex) !== m.prevTerm) {
      const hintIndex = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), m.prevTerm);
      this.replyAppend(m.from, false, prevIndex, hintIndex, this.log.term(hintIndex) ?? 0);
      return;
    }
    for (const entry of entries) {
      const have = this.log.term(entry.index);
      if (have === entry.term) continue;
      if (have !== undefined) {
        if (entry.index <= this.commit) throw new Error(`raft: ${this.id} asked to overwrite committed entry ${entry.index}`);
        this.log.truncateFrom(entry.index);
        this.persistedIndex = Math.min(this.persistedIndex, entry.index - 1);
      }
      this.appendLocal(entry);
    }
    const lastNew = prevIndex + entries.length;
    this.matchedBound = Math.max(this.matchedBound, lastNew);
    const commit = Math.min(m.commit, lastNew);
    if (commit > this.commit) this.commit = commit;
    const ack = Math.min(this.persistedIndex, this.matchedBound);
    if (ack >= lastNew) this.replyAppend(m.from, true, ack, 0, 0);
    // Otherwise the answer goes once storage has the entries (persisted -> sendAck).
  }

  private replyAppend(to: MemberId, success: boolean, index: Index, hintIndex: Index, hintTerm: Term): void {
    if (success) this.ackSent = Math.max(this.ackSent, index);
    this.send({ type: 'appendResp', from: this.id, to, term: this.term, success, index, hintIndex, hintTerm });
  }

  /** A follower tells its leader of newly durable matched entries. */
  private sendAck(): void {
    if (this.roleValue !== 'follower' || this.leader === undefined || this.installing !== undefined) return;
    const ack = Math.min(this.persistedIndex, this.matchedBound);
    if (ack > this.ackSent) this.replyAppend(this.leader, true, ack, 0, 0);
  }

  private handleHeartbeat(m: Heartbeat): void {
    const commit = Math.min(m.commit, this.log.lastIndex());
    if (commit > this.commit) this.commit = commit;
    this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, round: m.round });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    const reply = (offset: number, installed: boolean, resend: boolean): void =>
      this.send({ type: 'snapshotResp', from: this.id, to: m.from, term: this.term, snapshotIndex: m.meta.index, offset, installed, resend });
    if (m.meta.index <= this.commit) {
      if (this.installing?.meta.index === m.meta.index) reply(m.size, false, false);
      else reply(m.size, this.persistedIndex >= m.meta.index, false);
      return;
    }
    const outcome = this.receiver.accept(m);
    if (outcome.kind === 'partial') {
      reply(outcome.offset, false, outcome.resend);
      return;
    }
    const { meta, data } = outcome;
    this.log.reset({ index: meta.index, term: meta.term, membership: meta.membership });
    this.writeFrom = Infinity;
    // Until storage has the snapshot, only the old committed and durable entries count as durable.
    this.persistedIndex = Math.min(this.persistedIndex, this.commit);
    this.commit = meta.index;
    this.applyCursor = meta.index;
    this.appliedIndex = meta.index;
    this.matchedBound = meta.index;
    this.snapshot = { meta, data };
    this.snapshotRequested = false;
    this.installing = { meta, size: data.length, leader: m.from };
    this.installOut = { meta, data };
    reply(m.size, false, false);
  }

  // ---- reads ----------------------------------------------------------------------------------

  private leaderRead(id: string, origin: MemberId): void {
    if (this.reads.size + this.waitingReads.length >= this.opts.maxPendingReads) {
      this.answerRead({ id, origin, index: 0, round: 0 }, false, 'overloaded');
      return;
    }
    if (this.log.term(this.commit) !== this.term) {
      this.waitingReads.push({ id, origin });
      return;
    }
    if (majority(this.log.membership()) <= 1 && this.log.membership().voters.includes(this.id)) {
      this.confirmRead({ id, origin, index: this.commit, round: 0 });
      return;
    }
    this.reads.add(id, origin, this.commit);
  }

  private confirmRead(read: PendingRead): void {
    this.answerRead(read, true, 'notLeader');
  }

  private answerRead(read: PendingRead, ok: boolean, reason: ReadFailure['reason']): void {
    if (read.origin === this.id) {
      if (ok) this.readStates.push({ id: read.id, index: read.index });
      else this.readFailures.push({ id: read.id, reason });
    } else {
      this.send({ type: 'readIndexResp', from: this.id, to: read.origin, term: this.term, id: read.id, ok, index: read.index });
    }
  }

  private handleReadIndex(m: ReadIndexRequest): void {
    if (this.roleValue !== 'leader') {
      this.send({ type: 'readIndexResp', from: this.id, to: m.from, term: this.term, id: m.id, ok: false, index: 0 });
      return;
    }
    this.leaderRead(m.id, m.from);
  }

  private handleReadIndexResponse(m: ReadIndexResponse): void {
    if (!this.forwardedReads.delete(m.id)) return;
    if (m.ok) this.readStates.push({ id: m.id, index: m.index });
    else this.readFailures.push({ id: m.id, reason: 'notLeader' });
  }

  private failReads(reason: ReadFailure['reason']): void {
    for (const read of this.reads.drain()) this.answerRead(read, false, reason);
    for (const read of this.waitingReads) this.answerRead({ id: read.id, origin: read.origin, index: 0, round: 0 }, false, reason);
    this.waitingReads = [];
    this.reads = new ReadRounds();
  }

  private failForwardedReads(): void {
    for (const id of this.forwardedReads.keys()) this.readFailures.push({ id, reason: 'notLeader' });
    this.forwardedReads.clear();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private send(message: RaftMessage): void {
    this.messages.push(message);
  }

  private hardStateChanged(): boolean {
    const saved = this.savedHardState;
    return saved.term !== this.term || saved.vote !== this.vote || saved.commit !== this.durableCommit();
  }

  /**
   * The commit index as saved: never past what storage holds of this log. Storage may still hold
   * a stale suffix that a pending write truncates; a commit index saved past `persistedIndex`
   * would make a restarted member apply those stale entries as committed.
   */
  private durableCommit(): Index {
    return Math.min(this.commit, this.persistedIndex);
  }
}
