/**
 * Cluster membership: an observed-remove set (orset.ts) of members keyed by node name. Each node
 * adds itself (`join`) with its connection details; deltas are gossiped and full states merged on
 * connect, so joins are transitive. `leave(name)` removes the member as observed here; a
 * concurrent re-join wins (add-wins).
 *
 * Incarnations: a node that restarts joins again under the same name with a new `nodeId` (random
 * per start) and a higher `incarnation` (the cluster server uses the start time in ms, raised
 * above any incarnation of that name it has seen). When a name holds entries of several
 * incarnations, the one with the highest `(incarnation, nodeId)` is the member, on every replica
 * alike; `merge` also removes the others' dots and returns that removal as a delta to gossip, so
 * old incarnations disappear everywhere. A restarted node whose clock went backwards would lose
 * that comparison: it sees its own name in `left` and must join again with a higher incarnation.
 *
 * The ORSet replica id is `name#nodeId`, unique per start, so a restarted node never reuses dots.
 * Bounds: `maxMembers` (default 1,000) and the ORSet limits; over them a change is refused whole
 * with HORDE_STATE_LIMIT.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { type DottedValue, type ORSetLimits, type ORSetWire, ORSet, ORSetDelta } from './orset.js';
import { type JsonValue, expectInt, expectRecord, expectString, field, localString, malformed } from './wire-check.js';

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

/** A membership delta or full state: what nodes gossip. */
export class MembershipDelta {
  /** @internal */
  constructor(readonly inner: ORSetDelta<MemberJson>) {}

  get isEmpty(): boolean {
    return this.inner.isEmpty;
  }

  static join(a: MembershipDelta, b: MembershipDelta, limits?: Partial<MembershipLimits>): MembershipDelta {
    return new MembershipDelta(ORSetDelta.join(a.inner, b.inner, orsetLimits(limits)));
  }

  toWire(): ORSetWire {
    return this.inner.toWire();
  }

  /** Validates untrusted input; throws only HORDE_MALFORMED_FRAME. */
  static fromWire(value: unknown, limits?: Partial<MembershipLimits>): MembershipDelta {
    return new MembershipDelta(ORSetDelta.fromWire<MemberJson>(value, { limits: orsetLimits(limits), parseValue: parseMember }));
  }
}

export class Membership {
  private readonly set: ORSet<MemberJson>;

  /** `name` and `nodeId` of the local node: they make this replica's id. */
  constructor(
    name: string,
    nodeId: string,
    private readonly limits: Partial<MembershipLimits> = {},
  ) {
    localString(name, 'name', MAX_NAME_BYTES);
    localString(nodeId, 'nodeId', MAX_NODE_ID_BYTES);
    this.set = new ORSet<MemberJson>(`${name}#${nodeId}`, orsetLimits(limits));
  }

  /** Adds (or updates) a member, normally the local node itself. Returns the delta to gossip. */
  join(member: Member): MembershipDelta {
    return new MembershipDelta(this.set.add(member.name, checkMember(member)));
  }

  /** Removes `name` as observed here (every incarnation of it). Returns the delta to gossip. */
  leave(name: string): MembershipDelta {
    return new MembershipDelta(this.set.remove(name));
  }

  /**
   * Merges a delta or a full state from a peer. Refused whole with HORDE_STATE_LIMIT over a limit.
   * Returns what changed in `members()`, and a delta removing superseded incarnations, if any.
   */
  merge(delta: MembershipDelta): MembershipChanges {
    const before = new Map<string, Member>();
    for (const key of this.set.keys()) {
      const member = resolve(this.set.dots(key));
      if (member !== undefined) before.set(key, member);
    }
    const changed = this.set.merge(delta.inner);
    let cleanup: ORSetDelta<MemberJson> | undefined;
    const joined: Member[] = [];
    const left: Member[] = [];
    for (const key of changed.sort()) {
      const dots = this.set.dots(key);
      const winner = resolve(dots);
      if (winner !== undefined && dots.length > 1) {
        const removal = this.set.removeDots(key, (dot) => olderThan(dot.value, winner));
        if (!removal.isEmpty) cleanup = cleanup === undefined ? removal : ORSetDelta.join(cleanup, removal, orsetLimits(this.limits));
      }
      const old = before.get(key);
      if (old !== undefined && (winner === undefined || !sameMember(old, winner))) left.push(old);
      if (winner !== undefined && (old === undefined || !sameMember(old, winner))) joined.push(winner);
    }
    return { joined, left, delta: cleanup === undefined ? undefined : new MembershipDelta(cleanup) };
  }

  /** The members, one per name (its newest incarnation), sorted by name. */
  members(): Member[] {
    const out: Member[] = [];
    for (const key of this.set.keys()) {
      const member = resolve(this.set.dots(key));
      if (member !== undefined) out.push(member);
    }
    return out;
  }

  member(name: string): Member | undefined {
    return resolve(this.set.dots(name));
  }

  /** The full state, as a delta (sent to a peer on connect). */
  state(): MembershipDelta {
    return new MembershipDelta(this.set.state());
  }

  toWire(): ORSetWire {
    return this.set.toWire();
  }

  /** A replica for the local node (`name`, `nodeId`) starting from a state received on the wire. */
  static fromWire(name: string, nodeId: string, value: unknown, limits?: Partial<MembershipLimits>): Membership {
    const membership = new Membership(name, nodeId, limits);
    membership.merge(MembershipDelta.fromWire(value, limits));
    return membership;
  }
}
