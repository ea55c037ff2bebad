/**
 * A deterministic simulation of a Raft group for tests: N RaftCores over a seeded network (delay,
 * drop, duplicate, reorder, partitions), storage that completes asynchronously (a crash loses what
 * was not complete; a restarted core loads only what its MemoryRaftPersistence holds), logical ticks,
 * a key-value state machine, and clients whose operations are recorded as a history for
 * `checkLinearizable`. One SimRandom drives everything, so a seed names a run.
 *
 * Time is in units: each unit delivers the events due (in an order drawn from the seed), then
 * ticks every live core once. Invariants are checked after every event: at most one leader per
 * term, log matching (entries with one index and term are identical and have identical
 * predecessors), and every member applies the same entry at each index.
 */
import { ClientSessions, MemoryRaftPersistence, RaftCore } from '../../src/index.js';
import type {
  SessionCommand,
  SessionReply, Entry, MemberId, Membership, MembershipChange, RaftMessage, RaftOptions, RaftReady, RaftStatus } from '../../src/index.js';
import type { HistoryOperation, KvInput, KvOutput } from '../../src/testkit/linearizability/index.js';
import { SimRandom } from '../../src/testkit/sim/random.js';

/** A command as the harness's clients propose it. */
export interface KvCommand {
  client: number;
  op: KvInput<string, number>;
}

/** A command through the session layer (exactly once); its `op` commands are KvInputs. */
export interface SessionEnvelope {
  sessions: SessionCommand;
}

/** Network and storage behaviour. */
export interface SimFaults {
  minDelay: number;
  maxDelay: number;
  drop: number;
  duplicate: number;
  /** Storage completion delay, in units: [0, persistMax]. */
  persistMax: number;
}

export interface HarnessOptions {
  seed: number;
  members: MemberId[];
  /** Members started empty (to be added later). */
  spares?: MemberId[];
  core?: Partial<Omit<RaftOptions, 'id' | 'random'>>;
  faults?: Partial<SimFaults>;
  /** Units after which a client gives up on an operation (its outcome is then unknown). */
  opTimeout?: number;
}

type Event =
  | { kind: 'deliver'; message: RaftMessage }
  | { kind: 'write'; node: MemberId; incarnation: number }
  | { kind: 'call'; fn: () => void };

type Write =
  | { type: 'append'; ready: NonNullable<RaftReady['append']> }
  | { type: 'save'; ready: NonNullable<RaftReady['saveSnapshot']> }
  | { type: 'install'; ready: NonNullable<RaftReady['installSnapshot']> };

interface ClientOp {
  client: number;
  record: HistoryOperation<KvInput<string, number>, KvOutput<number>>;
  done: boolean;
  deadline: number;
}

class SimNode {
  core!: RaftCore;
  up = true;
  incarnation = 0;
  lastWriteDue = 0;
  writes: { due: number; write: Write }[] = [];
  sm = new Map<string, number>();
  sessions = new ClientSessions();
  /** What the session layer answered, by log index. */
  sessionReplies = new Map<number, SessionReply<KvOutput<number>>>();
  applied = 0;
  proposals = new Map<number, { term: number; op: ClientOp }>();
  reads = new Map<string, ClientOp>();
  confirmedReads: { index: number; op: ClientOp }[] = [];
  constructor(
    readonly id: MemberId,
    readonly storage: MemoryRaftPersistence,
  ) {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The simulated group. */
export class RaftSim {
  readonly random: SimRandom;
  readonly nodes = new Map<MemberId, SimNode>();
  readonly history: HistoryOperation<KvInput<string, number>, KvOutput<number>>[] = [];
  faults: SimFaults;
  now = 0;
  /** Messages sent, by type (for assertions on traffic). */
  readonly sent = new Map<string, number>();
  /** Every message sent, when `traceMessages` is set. */
  readonly trace: RaftMessage[] = [];
  traceMessages = false;
  /** Until when (in units) a member's disk is stalled: its writes complete no earlier. */
  readonly diskStalledUntil = new Map<MemberId, number>();
  /** Drops every message it returns true for (scripted faults). */
  dropIf: ((message: RaftMessage) => boolean) | undefined;
  private events: { at: number; order: number; event: Event }[] = [];
  private cut = new Set<string>();
  private leaders = new Map<number, MemberId>();
  private entryIds = new Map<string, { prevTerm: number; key: string }>();
  private appliedIds = new Map<number, string>();
  private opSeq = 0;
  private readonly opTimeout: number;
  private readonly coreOptions: Partial<RaftOptions>;

  constructor(readonly options: HarnessOptions) {
    this.random = new SimRandom(options.seed);
    this.faults = { minDelay: 1, maxDelay: 3, drop: 0, duplicate: 0, persistMax: 2, ...options.faults };
    this.opTimeout = options.opTimeout ?? 200;
    this.coreOptions = options.core ?? {};
    const membership: Membership = { voters: options.members, learners: [] };
    for (const id of options.members) this.addNode(id, new MemoryRaftPersistence(membership));
    for (const id of options.spares ?? []) this.addNode(id, new MemoryRaftPersistence());
  }

  private addNode(id: MemberId, storage: MemoryRaftPersistence): void {
    const node = new SimNode(id, storage);
    this.nodes.set(id, node);
    this.boot(node);
  }

  private boot(node: SimNode): void {
    const state = node.storage.load();
    node.core = new RaftCore({ ...this.coreOptions, id: node.id, random: this.random.fork() }, state);
    node.sm = new Map<string, number>();
    node.sessions = new ClientSessions();
    if (state.snapshot !== undefined) restoreSm(node, state.snapshot.data);
    node.applied = state.snapshot?.meta.index ?? 0;
    node.up = true;
    node.incarnation++;
    node.lastWriteDue = this.now;
  }

  node(id: MemberId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  core(id: MemberId): RaftCore {
    return this.node(id).core;
  }

  status(id: MemberId): RaftStatus {
    return this.core(id).status();
  }

  /** The live leader with the highest term, if any (among `among`, when given). */
  leader(among?: readonly MemberId[]): MemberId | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes.values()) {
      if (!node.up || node.core.role !== 'leader' || (among !== undefined && !among.includes(node.id))) continue;
      if (best === undefined || node.core.status().term > best.core.status().term) best = node;
    }
    return best?.id;
  }

  // ---- faults ----------------------------------------------------------------------------------

  /** Cuts every link between `a` and `b` (both directions). */
  partition(a: readonly MemberId[], b: readonly MemberId[]): void {
    for (const x of a) for (const y of b) {
      this.cut.add(`${x}>${y}`);
      this.cut.add(`${y}>${x}`);
    }
  }

  /** Isolates `id` from everyone. */
  isolate(id: MemberId): void {
    this.partition([id], [...this.nodes.keys()].filter((n) => n !== id));
  }

  heal(): void {
    this.cut.clear();
  }

  crash(id: MemberId): void {
    const node = this.node(id);
    node.up = false;
    node.incarnation++;
    node.writes = [];
    for (const op of node.proposals.values()) this.abandon(op.op);
    for (const op of node.reads.values()) this.abandon(op);
    for (const read of node.confirmedReads) this.abandon(read.op);
    node.proposals.clear();
    node.reads.clear();
    node.confirmedReads = [];
  }

  restart(id: MemberId): void {
    const node = this.node(id);
    if (node.up) throw new Error(`${id} is up`);
    this.boot(node);
    this.process(node);
  }

  // ---- running ---------------------------------------------------------------------------------

  /** Runs `units` units of time. */
  run(units: number): void {
    for (let i = 0; i < units; i++) this.step();
  }

  /** Runs until `done()` or `max` units; returns whether `done()` held. */
  runUntil(done: () => boolean, max = 2000): boolean {
    for (let i = 0; i < max; i++) {
      if (done()) return true;
      this.step();
    }
    return done();
  }

  /** Runs until a leader is elected and knows it has committed in its term; returns it. */
  awaitLeader(max = 2000, among?: readonly MemberId[]): MemberId {
    let leader: MemberId | undefined;
    const ok = this.runUntil(() => {
      leader = this.leader(among);
      if (leader === undefined) return false;
      const status = this.status(leader);
      return status.commit >= status.lastIndex && this.core(leader).termAt(status.commit) === status.term;
    }, max);
    if (!ok || leader === undefined) throw new Error(`seed ${this.options.seed}: no leader after ${max} units`);
    return leader;
  }

  /** Proposes a command on `id` directly (no client); returns the core's answer. */
  propose(id: MemberId, data: KvCommand | SessionEnvelope): ReturnType<RaftCore['propose']> {
    const answer = this.core(id).propose(data);
    this.process(this.node(id));
    return answer;
  }

  /** Whether `id` is up. */
  isUp(id: MemberId): boolean {
    return this.node(id).up;
  }

  /** Runs until one of `among` leads (committed or not); returns it. */
  awaitLeaderOf(among: readonly MemberId[], max = 2000): MemberId {
    let leader: MemberId | undefined;
    if (!this.runUntil(() => (leader = this.leader(among)) !== undefined, max)) throw new Error(`seed ${this.options.seed}: none of ${among.join(', ')} leads`);
    return leader!;
  }

  /** Schedules `fn` at `now + delay`. */
  at(delay: number, fn: () => void): void {
    this.schedule(delay, { kind: 'call', fn });
  }

  private step(): void {
    this.now++;
    this.events.sort((a, b) => a.at - b.at || a.order - b.order);
    while (this.events.length > 0 && this.events[0]!.at <= this.now) {
      const { event } = this.events.shift()!;
      this.handle(event);
    }
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      node.core.tick();
      this.process(node);
    }
  }

  private schedule(delay: number, event: Event): void {
    this.events.push({ at: this.now + delay, order: this.random.next(), event });
  }

  private handle(event: Event): void {
    if (event.kind === 'call') {
      event.fn();
      return;
    }
    if (event.kind === 'deliver') {
      const node = this.nodes.get(event.message.to);
      if (node === undefined || !node.up || this.cut.has(`${event.message.from}>${event.message.to}`)) return;
      node.core.receive(event.message);
      this.process(node);
      return;
    }
    const node = this.node(event.node);
    if (!node.up || node.incarnation !== event.incarnation) return;
    // Storage completes writes in order.
    while (node.writes.length > 0 && node.writes[0]!.due <= this.now) {
      const { write } = node.writes.shift()!;
      if (write.type === 'append') {
        node.storage.append(write.ready);
        const last = write.ready.entries[write.ready.entries.length - 1];
        if (last !== undefined) node.core.persisted(last.index, last.term);
      } else if (write.type === 'save') {
        node.storage.saveSnapshot(write.ready.meta, write.ready.data, write.ready.base);
      } else {
        node.storage.installSnapshot(write.ready.meta, write.ready.data);
        node.core.snapshotInstalled(write.ready.meta.index);
      }
    }
    this.process(node);
  }

  private queueWrite(node: SimNode, write: Write): void {
    const due = Math.max(node.lastWriteDue, this.now + this.random.int(this.faults.persistMax + 1), this.diskStalledUntil.get(node.id) ?? 0);
    node.lastWriteDue = due;
    node.writes.push({ due, write });
    this.events.push({ at: due, order: this.random.next(), event: { kind: 'write', node: node.id, incarnation: node.incarnation } });
  }

  /** Drains a node's Ready and carries it out (ready.ts's order). */
  process(node: SimNode): void {
    for (let rounds = 0; node.up && node.core.hasReady(); rounds++) {
      if (rounds > 1000) throw new Error(`seed ${this.options.seed}: ${node.id} never runs out of output`);
      const ready = node.core.ready();
      if (ready.hardState !== undefined) node.storage.saveHardState(ready.hardState);
      if (ready.installSnapshot !== undefined) {
        restoreSm(node, ready.installSnapshot.data);
        node.applied = ready.installSnapshot.meta.index;
        this.queueWrite(node, { type: 'install', ready: ready.installSnapshot });
      }
      if (ready.saveSnapshot !== undefined) this.queueWrite(node, { type: 'save', ready: ready.saveSnapshot });
      if (ready.append !== undefined) {
        this.checkEntries(node, ready.append.entries);
        this.queueWrite(node, { type: 'append', ready: ready.append });
      }
      for (const message of ready.messages) this.sendMessage(message);
      for (const entry of ready.committed) this.apply(node, entry);
      if (ready.committed.length > 0) node.core.applied(node.applied);
      for (const read of ready.reads) {
        const op = node.reads.get(read.id);
        node.reads.delete(read.id);
        if (op !== undefined && !op.done) node.confirmedReads.push({ index: read.index, op });
      }
      for (const failure of ready.readFailures) {
        const op = node.reads.get(failure.id);
        node.reads.delete(failure.id);
        if (op !== undefined && !op.done) this.retry(op);
      }
      this.answerReads(node);
      if (ready.takeSnapshot !== undefined) node.core.snapshotTaken(node.applied, encodeSm(node));
      this.checkLeaders();
    }
  }

  private sendMessage(message: RaftMessage): void {
    this.sent.set(message.type, (this.sent.get(message.type) ?? 0) + 1);
    if (this.traceMessages) this.trace.push(message);
    if (this.random.chance(this.faults.drop) || this.dropIf?.(message) === true) return;
    const copies = this.random.chance(this.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.schedule(this.faults.minDelay + this.random.int(this.faults.maxDelay - this.faults.minDelay + 1), { kind: 'deliver', message });
    }
  }

  // ---- state machine and clients -------------------------------------------------------------------

  private apply(node: SimNode, entry: Entry): void {
    if (entry.index !== node.applied + 1) throw new Error(`seed ${this.options.seed}: ${node.id} applies ${entry.index} after ${node.applied}`);
    const key = entryKey(entry);
    const seen = this.appliedIds.get(entry.index);
    if (seen === undefined) this.appliedIds.set(entry.index, key);
    else if (seen !== key) throw new Error(`seed ${this.options.seed}: ${node.id} applied ${key} at ${entry.index}, another member applied ${seen}`);
    node.applied = entry.index;
    let output: KvOutput<number> = undefined;
    if (entry.kind === 'command') {
      const data = entry.data as KvCommand | SessionEnvelope;
      if ('sessions' in data) {
        const reply = node.sessions.apply(entry.index, data.sessions, (command) => runKv(node.sm, command as KvInput<string, number>));
        node.sessionReplies.set(entry.index, reply);
      } else output = runKv(node.sm, data.op);
    }
    const proposal = node.proposals.get(entry.index);
    if (proposal !== undefined) {
      node.proposals.delete(entry.index);
      if (proposal.term === entry.term) this.complete(proposal.op, output);
      else if (!proposal.op.done) this.retry(proposal.op);
    }
    this.answerReads(node);
  }

  private answerReads(node: SimNode): void {
    if (node.confirmedReads.length === 0) return;
    const waiting: { index: number; op: ClientOp }[] = [];
    for (const read of node.confirmedReads) {
      if (read.index <= node.applied) {
        const input = read.op.record.input;
        this.complete(read.op, node.sm.get(input.key));
      } else waiting.push(read);
    }
    node.confirmedReads = waiting;
  }

  /** Starts a client operation (recorded in the history) on `target` or wherever the client guesses the leader is. */
  invoke(client: number, input: KvInput<string, number>, target?: MemberId): ClientOp {
    const op: ClientOp = { client, record: { clientId: client, input, call: this.now }, done: false, deadline: this.now + this.opTimeout };
    this.history.push(op.record);
    this.submit(op, target ?? this.guessLeader());
    return op;
  }

  /** Where a client sends: usually the newest leader, sometimes any member that believes it leads (a deposed one too), sometimes anyone. */
  private guessLeader(): MemberId {
    const live = [...this.nodes.values()].filter((n) => n.up);
    const roll = this.random.next();
    const leader = this.leader();
    if (leader !== undefined && roll < 0.6) return leader;
    const leaders = live.filter((n) => n.core.role === 'leader');
    if (leaders.length > 0 && roll < 0.85) return this.random.pick(leaders).id;
    const pick = live.length > 0 ? live : [...this.nodes.values()];
    return this.random.pick(pick).id;
  }

  private submit(op: ClientOp, target: MemberId): void {
    if (op.done) return;
    const node = this.node(target);
    if (!node.up) {
      this.retry(op);
      return;
    }
    const input = op.record.input;
    if (input.op === 'get') {
      const id = `r${++this.opSeq}`;
      node.reads.set(id, op);
      node.core.readIndex(id);
    } else {
      const answer = node.core.propose({ client: op.client, op: input } satisfies KvCommand);
      if (!answer.ok) {
        const leader = answer.leader;
        this.at(1, () => this.submit(op, leader !== undefined && leader !== target ? leader : this.guessLeader()));
        return;
      }
      node.proposals.set(answer.index!, { term: answer.term!, op });
    }
    this.process(node);
  }

  private retry(op: ClientOp): void {
    this.at(1 + this.random.int(3), () => this.submit(op, this.guessLeader()));
  }

  private complete(op: ClientOp, output: KvOutput<number>): void {
    if (op.done) return;
    op.done = true;
    op.record.output = output;
    op.record.return = this.now;
  }

  private abandon(op: ClientOp): void {
    op.done = true;
  }

  /** Whether every operation has finished (answered or given up). */
  allDone(ops: readonly ClientOp[]): boolean {
    return ops.every((op) => op.done || op.deadline <= this.now);
  }

  // ---- invariants ------------------------------------------------------------------------------

  private checkLeaders(): void {
    for (const node of this.nodes.values()) {
      if (!node.up || node.core.role !== 'leader') continue;
      const { term } = node.core.status();
      const known = this.leaders.get(term);
      if (known === undefined) this.leaders.set(term, node.id);
      else if (known !== node.id) throw new Error(`seed ${this.options.seed}: two leaders in term ${term}: ${known} and ${node.id}`);
    }
  }

  private checkEntries(node: SimNode, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const prevTerm = node.core.termAt(entry.index - 1);
      if (prevTerm === undefined) throw new Error(`seed ${this.options.seed}: ${node.id} writes ${entry.index} without its predecessor`);
      const id = `${entry.index}:${entry.term}`;
      const key = entryKey(entry);
      const known = this.entryIds.get(id);
      if (known === undefined) this.entryIds.set(id, { prevTerm, key });
      else if (known.key !== key || known.prevTerm !== prevTerm) {
        throw new Error(`seed ${this.options.seed}: log matching broken at ${id} on ${node.id}: ${key} after term ${prevTerm}, elsewhere ${known.key} after term ${known.prevTerm}`);
      }
    }
  }

  /** Proposes a membership change through the current leader (retrying for up to `max` units); returns when committed everywhere alive. */
  changeMembership(change: MembershipChange, max = 3000): void {
    let index: number | undefined;
    let term = 0;
    const ok = this.runUntil(() => {
      const leader = this.leader();
      if (leader === undefined) return false;
      if (index !== undefined) {
        const status = this.status(leader);
        if (this.core(leader).termAt(index) !== term) index = undefined;
        else if (status.commit >= index) return true;
        return false;
      }
      const answer = this.core(leader).changeMembership(change);
      this.process(this.node(leader));
      if (answer.ok) {
        index = answer.index!;
        term = answer.term!;
      }
      return false;
    }, max);
    if (!ok) throw new Error(`seed ${this.options.seed}: membership change ${JSON.stringify(change)} did not commit`);
  }
}

function entryKey(entry: Entry): string {
  return JSON.stringify(entry);
}

function runKv(sm: Map<string, number>, op: KvInput<string, number>): KvOutput<number> {
  const current = sm.get(op.key);
  if (op.op === 'put') sm.set(op.key, op.value);
  else if (op.op === 'delete') sm.delete(op.key);
  else if (op.op === 'cas') {
    const swapped = current === op.expected;
    if (swapped) sm.set(op.key, op.value);
    return swapped;
  } else return current;
  return undefined;
}

function encodeSm(node: SimNode): Uint8Array {
  return encoder.encode(JSON.stringify({ sm: [...node.sm], sessions: node.sessions.snapshot() }));
}

function restoreSm(node: SimNode, data: Uint8Array): void {
  const decoded = JSON.parse(decoder.decode(data)) as { sm: [string, number][]; sessions: unknown };
  node.sm = new Map(decoded.sm);
  node.sessions = new ClientSessions();
  node.sessions.restore(decoded.sessions);
}
