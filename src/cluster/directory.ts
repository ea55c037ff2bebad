/**
 * The directory: each node's business card (address, executors, services, registered names) as
 * seen by this node, kept up to date by per-key delta updates.
 *
 * Single writer per card: only the node itself changes its card (`setCard`, `setName`); every
 * change gets the next version of that card (per node and incarnation) and each key (a field or a
 * registered name) remembers the version that last wrote it. A receiver applies a key's write only
 * if it is newer than the one it holds, so deltas may arrive in any order, twice, or relayed by a
 * third node, and every receiver ends with the owner's card.
 *
 * Versions seen: a receiver tracks, per card, `contiguous` (every version up to it was applied)
 * and the versions seen beyond it. A delta whose versions are all seen is a duplicate and ignored.
 * A removed name is kept as a tombstone only while its version is above `contiguous` (a late
 * older write could otherwise bring it back); at or below it no such write can still come.
 *
 * Full snapshots (`setCard`, `snapshot`, `state`) carry a `base`: "every version up to base is
 * included". Applying one drops the keys it does not hold whose version is at or below base, and
 * raises `contiguous` to base. A snapshot of a card relayed by a third node uses that node's
 * `contiguous` as base and also carries its tombstones and versions seen above it.
 *
 * Incarnations: a delta of a higher incarnation than the card held replaces the card; a lower
 * one is stale. `removeNode` forgets a card and ignores that incarnation (and older) afterwards.
 *
 * `whereis(name)` with the name registered on several nodes (a partition healed, a race between
 * two registrations): the pid on the node whose name sorts first (code unit order) wins, on every
 * node alike; `whereisAll` lists them all.
 *
 * Bounds (DirectoryLimits): cards, names per card (tombstones included), services, versions seen
 * out of order per card, forgotten incarnations remembered. Over one a delta is refused whole with
 * HORDE_STATE_LIMIT (the server then asks the owner for a snapshot); `fromWire` refuses input over
 * them with HORDE_MALFORMED_FRAME.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { type Pid, isPid, pid as makePid } from '../process/pid.js';
import {
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

export interface Card {
  readonly name: string;
  readonly incarnation: number;
  /** Where peers connect: `host:port`. */
  readonly address: string;
  readonly executors: number;
  readonly services: readonly string[];
  readonly names: ReadonlyMap<string, Pid>;
}

export interface DirectoryLimits {
  /** Cards (nodes) at once (default 1,000). */
  maxNodes: number;
  /** Registered names per card, tombstones included (default 100,000). */
  maxNames: number;
  /** Services per card (default 256). */
  maxServices: number;
  /** Versions of one card seen out of order, beyond `contiguous` (default 10,000). */
  maxPending: number;
  /** UTF-8 bytes of a node name, a registered name, a service or an address (default 255). */
  maxStringBytes: number;
}

export const DEFAULT_DIRECTORY_LIMITS: DirectoryLimits = { maxNodes: 1000, maxNames: 100_000, maxServices: 256, maxPending: 10_000, maxStringBytes: 255 };

type PidWire = [node: number, shard: number, serial: number];

/** The wire form of a delta. Keys: `[key, version, value | null]`, `null` for a removed name. */
export interface DirectoryDeltaWire {
  node: string;
  incarnation: number;
  /** Full snapshot: every version up to base is included (0 for a partial delta). */
  base: number;
  /** Versions this delta conveys beyond base. */
  seen: number[];
  address?: [version: number, address: string];
  executors?: [version: number, executors: number];
  services?: [version: number, services: string[]];
  names: [name: string, version: number, pid: PidWire | null][];
}

interface Versioned<T> {
  version: number;
  /** `undefined`: a tombstone (names only). */
  value: T | undefined;
}

/** One card's fields with their versions: what a card is, and what a delta carries. */
interface CardData {
  address?: Versioned<string>;
  executors?: Versioned<number>;
  services?: Versioned<readonly string[]>;
  names: Map<string, Versioned<Pid>>;
}

/** A change to one card (partial) or a snapshot of it (full). Immutable. */
export class DirectoryDelta {
  /** @internal */
  constructor(
    readonly node: string,
    readonly incarnation: number,
    readonly base: number,
    readonly seen: readonly number[],
    /** @internal */
    readonly data: CardData,
  ) {}

  toWire(): DirectoryDeltaWire {
    const wire: DirectoryDeltaWire = {
      node: this.node,
      incarnation: this.incarnation,
      base: this.base,
      seen: [...this.seen],
      names: [...this.data.names]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([name, v]) => [name, v.version, v.value === undefined ? null : [v.value.node, v.value.shard, v.value.serial]]),
    };
    const { address, executors, services } = this.data;
    if (address?.value !== undefined) wire.address = [address.version, address.value];
    if (executors?.value !== undefined) wire.executors = [executors.version, executors.value];
    if (services?.value !== undefined) wire.services = [services.version, [...services.value]];
    return wire;
  }

  /** Validates untrusted input; throws only HORDE_MALFORMED_FRAME. */
  static fromWire(value: unknown, limits?: Partial<DirectoryLimits>): DirectoryDelta {
    const bounds = checkLimits(limits);
    return parseWire('directory delta', () => {
      const record = expectRecord(value, 'directory delta');
      const node = expectString(field(record, 'node'), 'directory node', bounds.maxStringBytes);
      const incarnation = expectInt(field(record, 'incarnation'), 'directory incarnation', 0, Number.MAX_SAFE_INTEGER);
      const base = expectInt(field(record, 'base'), 'directory base', 0, Number.MAX_SAFE_INTEGER);
      const seen = expectArray(field(record, 'seen'), 'directory seen', bounds.maxPending).map((v) =>
        expectInt(v, 'directory seen version', base + 1, Number.MAX_SAFE_INTEGER),
      );
      if (base === 0 && seen.length === 0) malformed('directory delta conveys no version');
      const version = (v: unknown) => expectInt(v, 'directory key version', 1, Number.MAX_SAFE_INTEGER);
      const data: CardData = { names: new Map() };
      const address = field(record, 'address');
      if (address !== undefined) {
        const [v, a] = expectTuple(address, 'directory address', 2);
        data.address = { version: version(v), value: expectString(a, 'directory address', bounds.maxStringBytes) };
      }
      const executors = field(record, 'executors');
      if (executors !== undefined) {
        const [v, e] = expectTuple(executors, 'directory executors', 2);
        data.executors = { version: version(v), value: expectInt(e, 'directory executors', 1, 4096) };
      }
      const services = field(record, 'services');
      if (services !== undefined) {
        const [v, list] = expectTuple(services, 'directory services', 2);
        const items = expectArray(list, 'directory services', bounds.maxServices).map((s) => expectString(s, 'directory service', bounds.maxStringBytes));
        data.services = { version: version(v), value: Object.freeze(items) };
      }
      for (const item of expectArray(field(record, 'names'), 'directory names', bounds.maxNames)) {
        const [rawName, v, rawPid] = expectTuple(item, 'directory name', 3);
        const name = expectString(rawName, 'registered name', bounds.maxStringBytes);
        if (data.names.has(name)) malformed(`registered name ${JSON.stringify(name)} appears twice`);
        data.names.set(name, { version: version(v), value: rawPid === null ? undefined : parsePid(rawPid) });
      }
      return new DirectoryDelta(node, incarnation, base, seen, data);
    });
  }
}

function parsePid(value: unknown): Pid {
  const [node, shard, serial] = expectTuple(value, 'pid', 3);
  const candidate = { node, shard, serial };
  if (!isPid(candidate)) malformed('pid is out of range');
  return Object.freeze(makePid(candidate.node, candidate.shard, candidate.serial));
}

function checkLimits(limits: Partial<DirectoryLimits> | undefined): DirectoryLimits {
  const merged = { ...DEFAULT_DIRECTORY_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be a positive integer; got ${String(value)}`);
    }
  }
  return merged;
}

/** What this node holds of one card. */
interface CardState extends CardData {
  incarnation: number;
  contiguous: number;
  /** Versions applied beyond `contiguous`. */
  pending: Set<number>;
  /** Names whose entry is a tombstone. */
  tombstones: Set<string>;
  liveNames: number;
}

function newCard(incarnation: number): CardState {
  return { incarnation, contiguous: 0, pending: new Set(), names: new Map(), tombstones: new Set(), liveNames: 0 };
}

/**
 * Whether an incoming write of a key applies to a card as held before the delta (`held`): newer
 * than the write held, or, with none held, of a version not yet seen (else it was superseded).
 */
function appliesTo(held: CardState, current: Versioned<unknown> | undefined, incoming: Versioned<unknown>): boolean {
  if (current !== undefined) return incoming.version > current.version;
  return incoming.version > held.contiguous && !held.pending.has(incoming.version);
}

/** Sets (a write or a tombstone) or, with `undefined`, drops a name, keeping the counts right. */
function putName(card: CardState, name: string, entry: Versioned<Pid> | undefined): void {
  const old = card.names.get(name);
  if (old !== undefined) {
    if (old.value === undefined) card.tombstones.delete(name);
    else card.liveNames--;
  }
  if (entry === undefined) {
    card.names.delete(name);
    return;
  }
  card.names.set(name, entry);
  if (entry.value === undefined) card.tombstones.add(name);
  else card.liveNames++;
}

export class Directory {
  private readonly cardsByNode = new Map<string, CardState>();
  /** Forgotten incarnations per node (bounded: oldest forgotten first). */
  private readonly removed = new Map<string, number>();
  private readonly limits: DirectoryLimits;
  private readonly own: CardState;

  /** The local node: the only card this directory writes. */
  constructor(
    readonly self: { readonly name: string; readonly incarnation: number },
    limits?: Partial<DirectoryLimits>,
  ) {
    this.limits = checkLimits(limits);
    localString(self.name, 'name', this.limits.maxStringBytes);
    if (!Number.isSafeInteger(self.incarnation) || self.incarnation < 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "incarnation" must be a non-negative integer; got ${String(self.incarnation)}`);
    }
    this.own = newCard(self.incarnation);
  }

  /**
   * Sets the local node's card (its names too, when given; otherwise they stay). Returns a full
   * snapshot of it to broadcast. The card shows in `cards()` from then on.
   */
  setCard(card: { address: string; executors: number; services?: readonly string[]; names?: ReadonlyMap<string, Pid> }): DirectoryDelta {
    localString(card.address, 'address', this.limits.maxStringBytes);
    if (!Number.isSafeInteger(card.executors) || card.executors < 1 || card.executors > 4096) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "executors" must be an integer from 1 to 4096; got ${String(card.executors)}`);
    }
    const services = card.services ?? [];
    if (services.length > this.limits.maxServices) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `a card may list ${this.limits.maxServices} services; got ${services.length}`);
    }
    for (const service of services) localString(service, 'service', this.limits.maxStringBytes);
    if (card.names !== undefined) {
      if (card.names.size > this.limits.maxNames) {
        throw new HordeError(ErrorCode.STATE_LIMIT, `a card may hold ${this.limits.maxNames} names; got ${card.names.size}`);
      }
      for (const [name, pid] of card.names) this.checkName(name, pid);
    }
    const version = this.own.contiguous + 1;
    this.own.address = { version, value: card.address };
    this.own.executors = { version, value: card.executors };
    this.own.services = { version, value: Object.freeze([...services]) };
    if (card.names !== undefined) {
      this.own.names = new Map([...card.names].map(([name, pid]) => [name, { version, value: Object.freeze({ ...pid }) }]));
      this.own.liveNames = this.own.names.size;
    }
    this.own.contiguous = version;
    return this.snapshot();
  }

  /**
   * Registers (`pid`) or unregisters (`undefined`) `name` on the local node `node`. Returns the
   * delta to broadcast, with the card's next version. HORDE_INVALID_OPTION for another node's card
   * (each card has one writer), HORDE_STATE_LIMIT over `maxNames`.
   */
  setName(node: string, name: string, pid: Pid | undefined): DirectoryDelta {
    if (node !== this.self.name) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `only the local node's card can be changed here (${JSON.stringify(this.self.name)}, not ${JSON.stringify(node)})`);
    }
    this.checkName(name, pid);
    const had = this.own.names.get(name)?.value !== undefined;
    if (pid !== undefined && !had && this.own.liveNames >= this.limits.maxNames) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the card holds ${this.own.liveNames} names, its limit`);
    }
    const version = ++this.own.contiguous;
    const value = pid === undefined ? undefined : Object.freeze(makePid(pid.node, pid.shard, pid.serial));
    // The owner needs no tombstone: it is the source of every later write.
    if (value === undefined) this.own.names.delete(name);
    else this.own.names.set(name, { version, value });
    this.own.liveNames += (value !== undefined ? 1 : 0) - (had ? 1 : 0);
    return new DirectoryDelta(this.self.name, this.self.incarnation, 0, [version], { names: new Map([[name, { version, value }]]) });
  }

  /** A full snapshot of the local card (sent to a peer on connect). */
  snapshot(): DirectoryDelta {
    return this.snapshotOf(this.self.name, this.own);
  }

  /** Snapshots of every card held, the local one included (what a peer gets on connect). */
  state(): DirectoryDelta[] {
    const out = [this.snapshot()];
    for (const [node, card] of [...this.cardsByNode].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (card.contiguous > 0 || card.pending.size > 0) out.push(this.snapshotOf(node, card));
    }
    return out.filter((d) => d.base > 0 || d.seen.length > 0);
  }

  /**
   * Applies a peer's delta. Stale (older incarnation, forgotten, all versions seen) and duplicate
   * deltas are ignored; deltas about the local node too. Returns false for an ignored delta, true
   * for one that brought a version not seen before (its writes may all be superseded already).
   * Refused whole with HORDE_STATE_LIMIT over a limit.
   */
  apply(delta: DirectoryDelta): boolean {
    if (delta.node === this.self.name) return false;
    const forgotten = this.removed.get(delta.node);
    if (forgotten !== undefined && delta.incarnation <= forgotten) return false;
    let card = this.cardsByNode.get(delta.node);
    if (card !== undefined && delta.incarnation < card.incarnation) return false;
    if (card === undefined || delta.incarnation > card.incarnation) {
      if (card === undefined && this.cardsByNode.size >= this.limits.maxNodes) {
        throw new HordeError(ErrorCode.STATE_LIMIT, `the directory holds ${this.cardsByNode.size} cards, its limit`);
      }
      card = newCard(delta.incarnation);
    }
    const held = card;
    const fresh = delta.base > held.contiguous || delta.seen.some((v) => v > held.contiguous && !held.pending.has(v));
    if (!fresh) return false;
    this.cardsByNode.set(delta.node, this.applyTo(held, delta));
    return true;
  }

  /** Forgets `node`'s card; deltas of its current (or an older) incarnation are ignored from now on. */
  removeNode(node: string): boolean {
    const card = this.cardsByNode.get(node);
    if (card === undefined) return false;
    this.cardsByNode.delete(node);
    this.removed.delete(node);
    this.removed.set(node, card.incarnation);
    if (this.removed.size > this.limits.maxNodes) {
      const oldest = this.removed.keys().next().value;
      if (oldest !== undefined) this.removed.delete(oldest);
    }
    return true;
  }

  /** The cards whose address is known (the local one once set), sorted by node name. */
  cards(): Card[] {
    const out: Card[] = [];
    const all: [string, CardState][] = [[this.self.name, this.own], ...this.cardsByNode];
    for (const [node, card] of all.sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const address = card.address?.value;
      const executors = card.executors?.value;
      if (address === undefined || executors === undefined) continue;
      const names = new Map<string, Pid>();
      for (const [name, v] of card.names) if (v.value !== undefined) names.set(name, v.value);
      out.push({ name: node, incarnation: card.incarnation, address, executors, services: card.services?.value ?? [], names });
    }
    return out;
  }

  /** The pid registered as `name`; on several nodes, the one on the first node by name. */
  whereis(name: string): Pid | undefined {
    return this.whereisAll(name)[0]?.[1];
  }

  /** Every node that has `name` registered, with the pid, sorted by node name. */
  whereisAll(name: string): [node: string, pid: Pid][] {
    const out: [string, Pid][] = [];
    const own = this.own.names.get(name)?.value;
    if (own !== undefined) out.push([this.self.name, own]);
    for (const [node, card] of this.cardsByNode) {
      const pid = card.names.get(name)?.value;
      if (pid !== undefined) out.push([node, pid]);
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  private checkName(name: string, pid: Pid | undefined): void {
    localString(name, 'registered name', this.limits.maxStringBytes);
    if (pid !== undefined && !isPid(pid)) throw new HordeError(ErrorCode.INVALID_OPTION, `registered name ${JSON.stringify(name)} needs a valid pid`);
  }

  /**
   * Applies `delta` to `card` in place, its limits checked first. A snapshot that covers new
   * versions (base above `contiguous`) may drop keys: it works on a copy (it is O(card) anyway).
   */
  private applyTo(held: CardState, delta: DirectoryDelta): CardState {
    const before = held.contiguous;
    const snapshot = delta.base > before;
    let adds = 0;
    for (const [name, v] of delta.data.names) if (!held.names.has(name) && appliesTo(held, undefined, v)) adds++;
    if (!snapshot && held.names.size + adds > this.limits.maxNames) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `a card would hold ${held.names.size + adds} names, more than ${this.limits.maxNames}`);
    }
    if (!snapshot && held.pending.size + delta.seen.length > this.limits.maxPending) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `more than ${this.limits.maxPending} versions of one card seen out of order`);
    }
    const card: CardState = snapshot ? { ...held, pending: new Set(held.pending), names: new Map(held.names), tombstones: new Set(held.tombstones) } : held;
    if (snapshot) {
      // Everything up to base is in the snapshot: what it lacks at or below base is gone.
      for (const [name, v] of card.names) if (v.version <= delta.base && !delta.data.names.has(name)) putName(card, name, undefined);
      if (card.address !== undefined && card.address.version <= delta.base && delta.data.address === undefined) delete card.address;
      if (card.executors !== undefined && card.executors.version <= delta.base && delta.data.executors === undefined) delete card.executors;
      if (card.services !== undefined && card.services.version <= delta.base && delta.data.services === undefined) delete card.services;
    }
    const { address, executors, services } = delta.data;
    if (address !== undefined && appliesTo(held, card.address, address)) card.address = address;
    if (executors !== undefined && appliesTo(held, card.executors, executors)) card.executors = executors;
    if (services !== undefined && appliesTo(held, card.services, services)) card.services = services;
    for (const [name, v] of delta.data.names) if (appliesTo(held, card.names.get(name), v)) putName(card, name, v);
    // Versions seen, then drop the tombstones no late write can contradict any more.
    card.contiguous = Math.max(card.contiguous, delta.base);
    for (const v of delta.seen) if (v > card.contiguous) card.pending.add(v);
    if (snapshot) for (const v of card.pending) if (v <= card.contiguous) card.pending.delete(v);
    while (card.pending.delete(card.contiguous + 1)) card.contiguous++;
    for (const name of card.tombstones) if ((card.names.get(name)?.version ?? 0) <= card.contiguous) putName(card, name, undefined);
    if (card.names.size > this.limits.maxNames || card.pending.size > this.limits.maxPending) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `a card would hold ${card.names.size} names and ${card.pending.size} versions out of order, over the limits`);
    }
    return card;
  }

  private snapshotOf(node: string, card: CardState): DirectoryDelta {
    const data: CardData = { names: new Map(card.names) };
    if (card.address !== undefined) data.address = card.address;
    if (card.executors !== undefined) data.executors = card.executors;
    if (card.services !== undefined) data.services = card.services;
    return new DirectoryDelta(node, card.incarnation, card.contiguous, [...card.pending].sort((a, b) => a - b), data);
  }
}
