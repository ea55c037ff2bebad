/**
 * Cluster membership: an observed-remove set (orset.ts) of members keyed by node name. Each node
 * adds itself (`join`) with its connection details; deltas are gossiped and full states merged on
 * connect, so joins are transitive. `leave(name)` removes the member as observed here; a
 * concurrent re-join wins (add-wins).
 *
 * Incarnations: a node that restarts joins again under the same name with a new `nodeId` (random
 * per start) and a higher `incarnation` (the cluster server uses the start time in ms, raised
 * above any incarnation of that name it has seen). The state also keeps, per name, the highest
 * incarnation seen (its "floor", joined by max). The member of a name is its entry with the
 * highest `(incarnation, nodeId)`, if not below the floor; `merge` removes every other entry's
 * dots and returns that removal as a delta to gossip, so old incarnations disappear everywhere,
 * also after the new one has left. A restarted node whose clock went backwards would lose that
 * comparison: it sees its own name in `left` and must start again with a higher incarnation.
 *
 * Context pruning: the ORSet replica id is `name#incarnation#nodeId`, one per start, so the
 * causal context would grow by one replica per restart forever. A start below its name's floor
 * mints no dot that may survive (the floor rule removes any that arrives late), so once none of
 * its dots is held it is forgotten from the context. Left: one replica per name that left for
 * good, one per live start.
 *
 * Bounds: `maxMembers` (default 1,000), `maxReplicas` (default 10,000: replicas in the context,
 * also names remembered with a floor). Over them a change is refused whole with
 * HORDE_STATE_LIMIT; `MembershipDelta.fromWire` refuses input over them with
 * HORDE_MALFORMED_FRAME.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { type DottedValue, type ORSetLimits, type ORSetWire, ORSet, ORSetDelta } from './orset.js';
import {
  type JsonValue,
  expectArray,
  expectInt,
  expectRecord,
  expectString,
  expectTuple,
  field,
  localString,
  malformed,
  parseWire,
} from './wire-check.js';

export interface Member {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Higher for a later start of the same name. */
  readonly incarnation: number;
  readonly executors: number;
  /** Random per start (the handshake's incarnation id). */
  readonly nodeId: string;
}

/** What a merge changed: members that appeared (or were replaced by a new incarnation), and those gone. */
export interface MembershipChanges {
  readonly joined: Member[];
  readonly left: Member[];
  /** Removals of superseded incarnations this merge made here: gossip it like any delta. */
  readonly delta: MembershipDelta | undefined;
}

export interface MembershipLimits {
  /** Members at once (default 1,000). */
  maxMembers: number;
  /** Replica ids in the causal context: one per incarnation ever seen (default 10,000). */
  maxReplicas: number;
}

const MAX_NAME_BYTES = 255;
const MAX_HOST_BYTES = 255;
const MAX_NODE_ID_BYTES = 128;
const MAX_EXECUTORS = 4096;
type MemberJson = Member & { [key: string]: JsonValue };

function orsetLimits(limits: Partial<MembershipLimits> = {}): Partial<ORSetLimits> {
  return {
    maxKeys: limits.maxMembers ?? 1000,
    maxReplicas: limits.maxReplicas ?? 10_000,
    maxDotsPerKey: 64,
    maxValueBytes: 1024,
    maxKeyBytes: MAX_NAME_BYTES + 1 + MAX_NODE_ID_BYTES,
  };
}

/** Checks a member record from the wire; throws HORDE_MALFORMED_FRAME. */
function parseMember(value: JsonValue, key: string): MemberJson {
  const record = expectRecord(value, 'member');
  if (Object.keys(record).length !== 6) malformed('member has fields other than name, host, port, incarnation, executors, nodeId');
  const member: Member = {
    name: expectString(field(record, 'name'), 'member.name', MAX_NAME_BYTES),
    host: expectString(field(record, 'host'), 'member.host', MAX_HOST_BYTES),
    port: expectInt(field(record, 'port'), 'member.port', 0, 65535),
    incarnation: expectInt(field(record, 'incarnation'), 'member.incarnation', 0, Number.MAX_SAFE_INTEGER),
    executors: expectInt(field(record, 'executors'), 'member.executors', 1, MAX_EXECUTORS),
    nodeId: expectString(field(record, 'nodeId'), 'member.nodeId', MAX_NODE_ID_BYTES),
  };
  if (member.name !== key) malformed(`member ${JSON.stringify(member.name)} is filed under ${JSON.stringify(key)}`);
  return Object.freeze(member);
}

/** Checks a member given by a local caller; throws HORDE_INVALID_OPTION. */
function checkMember(member: Member): MemberJson {
  try {
    return parseMember({ ...member }, member.name);
  } catch (error) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `invalid member: ${(error as Error).message}`, { cause: error });
  }
}

/** True when `a` is superseded by `b` (lower incarnation, then lower nodeId). */
function olderThan(a: Member, b: Member): boolean {
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation;
  return a.nodeId < b.nodeId;
}

function sameMember(a: Member, b: Member): boolean {
  return a.name === b.name && a.nodeId === b.nodeId && a.incarnation === b.incarnation && a.host === b.host && a.port === b.port && a.executors === b.executors;
}

/** The member a name stands for: the newest incarnation among its dots. */
function resolve(dots: readonly DottedValue<MemberJson>[]): Member | undefined {
  let best: Member | undefined;
  for (const dot of dots) if (best === undefined || !olderThan(dot.value, best)) best = dot.value;
  return best;
}

/** The ORSet replica id of one start of a node: `name#incarnation#nodeId`. */
function replicaId(name: string, incarnation: number, nodeId: string): string {
  return `${name}#${incarnation}#${nodeId}`;
}

/** The name and incarnation a replica id stands for (undefined for an id not made by replicaId). */
function parseReplicaId(replica: string): { name: string; incarnation: number } | undefined {
  const match = /^(.+)#(\d{1,16})#[^#]+$/.exec(replica);
  if (match === null) return undefined;
  const incarnation = Number(match[2]);
  return Number.isSafeInteger(incarnation) ? { name: match[1]!, incarnation } : undefined;
}

/** The wire form: the ORSet of members, and the highest incarnation seen per name. */
export interface MembershipWire {
  set: ORSetWire;
  floors: [name: string, incarnation: number][];
}

/** A membership delta or full state: what nodes gossip. Immutable. */
export class MembershipDelta {
  /** @internal */
  constructor(
    readonly inner: ORSetDelta<MemberJson>,
    /** Highest incarnation seen per name. */
    readonly floors: ReadonlyMap<string, number>,
  ) {}

  get isEmpty(): boolean {
    return this.inner.isEmpty && this.floors.size === 0;
  }

  static join(a: MembershipDelta, b: MembershipDelta, limits?: Partial<MembershipLimits>): MembershipDelta {
    const floors = new Map(a.floors);
    for (const [name, incarnation] of b.floors) if (incarnation > (floors.get(name) ?? -1)) floors.set(name, incarnation);
    return new MembershipDelta(ORSetDelta.join(a.inner, b.inner, orsetLimits(limits)), floors);
  }

  toWire(): MembershipWire {
    return { set: this.inner.toWire(), floors: [...this.floors].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) };
  }

  /** Validates untrusted input; throws only HORDE_MALFORMED_FRAME. */
  static fromWire(value: unknown, limits?: Partial<MembershipLimits>): MembershipDelta {
    const maxReplicas = orsetLimits(limits).maxReplicas ?? 10_000;
    return parseWire('membership', () => {
      const record = expectRecord(value, 'membership');
      const inner = ORSetDelta.fromWire<MemberJson>(field(record, 'set'), { limits: orsetLimits(limits), parseValue: parseMember });
      const floors = new Map<string, number>();
      for (const item of expectArray(field(record, 'floors'), 'membership floors', maxReplicas)) {
        const [name, incarnation] = expectTuple(item, 'membership floor', 2);
        const key = expectString(name, 'membership floor name', MAX_NAME_BYTES);
        if (floors.has(key)) malformed(`membership floor for ${JSON.stringify(key)} appears twice`);
        floors.set(key, expectInt(incarnation, 'membership floor incarnation', 0, Number.MAX_SAFE_INTEGER));
      }
      return new MembershipDelta(inner, floors);
    });
  }
}

export class Membership {
  private readonly set: ORSet<MemberJson>;
  /** Highest incarnation seen per name: an entry below it is superseded, whatever else is known. */
  private readonly floors = new Map<string, number>();
  private readonly maxFloors: number;

  /** The local node's start (`name`, `incarnation`, `nodeId`): its replica id, and what `join` adds. */
  constructor(
    readonly self: { readonly name: string; readonly incarnation: number; readonly nodeId: string },
    private readonly limits: Partial<MembershipLimits> = {},
  ) {
    localString(self.name, 'name', MAX_NAME_BYTES);
    localString(self.nodeId, 'nodeId', MAX_NODE_ID_BYTES);
    if (self.nodeId.includes('#')) throw new HordeError(ErrorCode.INVALID_OPTION, 'option "nodeId" must not contain "#"');
    if (!Number.isSafeInteger(self.incarnation) || self.incarnation < 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "incarnation" must be a non-negative integer; got ${String(self.incarnation)}`);
    }
    this.maxFloors = orsetLimits(limits).maxReplicas ?? 10_000;
    this.set = new ORSet<MemberJson>(replicaId(self.name, self.incarnation, self.nodeId), orsetLimits(limits));
  }

  /**
   * Adds the local node (or updates its host, port, executors). Its name, incarnation and nodeId
   * must be those given to the constructor (HORDE_INVALID_OPTION). Returns the delta to gossip.
   */
  join(self: Member): MembershipDelta {
    const member = checkMember(self);
    if (member.name !== this.self.name || member.incarnation !== this.self.incarnation || member.nodeId !== this.self.nodeId) {
      throw new HordeError(ErrorCode.INVALID_OPTION, 'join adds the local node: name, incarnation and nodeId must be those of this Membership');
    }
    const floors = new Map([[member.name, member.incarnation]]);
    this.checkFloors(floors);
    const delta = this.set.add(member.name, member);
    this.raiseFloors(floors);
    return new MembershipDelta(delta, floors);
  }

  /** Removes `name` as observed here (every incarnation of it). Returns the delta to gossip. */
  leave(name: string): MembershipDelta {
    return new MembershipDelta(this.set.remove(name), new Map());
  }

  /**
   * Merges a delta or a full state from a peer. Refused whole with HORDE_STATE_LIMIT over a limit.
   * Returns what changed in `members()`, and a delta removing superseded incarnations, if any.
   */
  merge(delta: MembershipDelta): MembershipChanges {
    const before = new Map<string, Member>();
    for (const member of this.members()) before.set(member.name, member);
    this.checkFloors(delta.floors);
    const affected = new Set(this.set.merge(delta.inner));
    const raised = this.raiseFloors(delta.floors);
    for (const name of raised) affected.add(name);
    let cleanup: ORSetDelta<MemberJson> | undefined;
    for (const key of affected) {
      const winner = resolve(this.set.dots(key));
      if (winner === undefined) continue;
      const floor = this.floors.get(key) ?? 0;
      const removal = this.set.removeDots(key, (dot) => dot.value.incarnation < floor || olderThan(dot.value, winner));
      if (!removal.isEmpty) cleanup = cleanup === undefined ? removal : ORSetDelta.join(cleanup, removal, orsetLimits(this.limits));
    }
    this.prune(raised.length > 0 || cleanup !== undefined ? this.set.replicas() : delta.inner.replicas());
    const joined: Member[] = [];
    const left: Member[] = [];
    for (const key of [...affected].sort()) {
      const old = before.get(key);
      const now = this.member(key);
      if (old !== undefined && (now === undefined || !sameMember(old, now))) left.push(old);
      if (now !== undefined && (old === undefined || !sameMember(old, now))) joined.push(now);
    }
    return { joined, left, delta: cleanup === undefined ? undefined : new MembershipDelta(cleanup, new Map()) };
  }

  /** The members, one per name (its newest incarnation), sorted by name. */
  members(): Member[] {
    const out: Member[] = [];
    for (const key of this.set.keys()) {
      const member = this.member(key);
      if (member !== undefined) out.push(member);
    }
    return out;
  }

  member(name: string): Member | undefined {
    const member = resolve(this.set.dots(name));
    return member === undefined || member.incarnation < (this.floors.get(name) ?? 0) ? undefined : member;
  }

  /** Replicas in the causal context (one per start still relevant; superseded ones are pruned). */
  get replicaCount(): number {
    return this.set.replicas().length;
  }

  /** The full state, as a delta (sent to a peer on connect). */
  state(): MembershipDelta {
    return new MembershipDelta(this.set.state(), new Map(this.floors));
  }

  toWire(): MembershipWire {
    return this.state().toWire();
  }

  /** A replica for the local node's start `self`, starting from a state received on the wire. */
  static fromWire(self: { name: string; incarnation: number; nodeId: string }, value: unknown, limits?: Partial<MembershipLimits>): Membership {
    const membership = new Membership(self, limits);
    membership.merge(MembershipDelta.fromWire(value, limits));
    return membership;
  }

  private checkFloors(floors: ReadonlyMap<string, number>): void {
    let added = 0;
    for (const name of floors.keys()) if (!this.floors.has(name)) added++;
    if (this.floors.size + added > this.maxFloors) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `membership would remember ${this.floors.size + added} names, more than ${this.maxFloors}`);
    }
  }

  /** Joins `floors` in; returns the names whose floor rose. */
  private raiseFloors(floors: ReadonlyMap<string, number>): string[] {
    const raised: string[] = [];
    for (const [name, incarnation] of floors) {
      if (incarnation > (this.floors.get(name) ?? -1)) {
        this.floors.set(name, incarnation);
        raised.push(name);
      }
    }
    return raised;
  }

  /**
   * Forgets superseded starts from the causal context, so it does not grow with every restart: a
   * late dot of one is removed again by the floor rule in `merge`, wherever it arrives.
   */
  private prune(candidates: Iterable<string>): void {
    for (const replica of candidates) {
      const start = parseReplicaId(replica);
      if (start !== undefined && start.incarnation < (this.floors.get(start.name) ?? 0)) this.set.forgetReplica(replica);
    }
  }
}
