/**
 * A delta-state observed-remove set (the add-wins AWORSet of Almeida, Shoker and Baquero, "Delta
 * State Replicated Data Types", 2018), keyed by strings, each element carrying a small JSON value.
 *
 * State: a dot store (key -> the dots that added it, each dot `(replica, counter)` with the value
 * given at that add) and a causal context (every dot this replica has seen: a version vector of
 * contiguous counters per replica plus a "cloud" of dots beyond them). A dot that is in the context
 * but no longer in the store was removed. `add` makes a fresh dot and covers the key's older dots
 * (so a key keeps one dot per adding replica); `remove` covers the key's dots without adding one.
 * A concurrent add and remove: the add wins (its dot was not observed by the remove).
 *
 * Deltas are states too (`ORSetDelta`), so one `merge` serves a delta, a group of joined deltas or
 * a full state; merge is a join: idempotent, commutative, associative. Delivery may reorder,
 * duplicate or drop deltas; a later full-state merge repairs drops (its version vector covers the
 * gaps, which also empties the cloud).
 *
 * Replica ids must be unique per incarnation: a restarted node reusing an old replica id would
 * mint dots that others already saw. Bounds (ORSetLimits) are checked before a merge changes
 * anything: a merge or add that would exceed one is refused whole with HORDE_STATE_LIMIT, and
 * `ORSetDelta.fromWire` refuses input over them with HORDE_MALFORMED_FRAME.
 */
import { ErrorCode, HordeError } from '../errors.js';
import {
  type JsonValue,
  expectArray,
  expectInt,
  expectJson,
  expectRecord,
  expectString,
  expectTuple,
  field,
  localJson,
  localString,
  malformed,
  parseWire,
} from './wire-check.js';

export interface ORSetLimits {
  /** Keys present at once (default 10,000). */
  maxKeys: number;
  /** Dots per key, i.e. replicas that added it concurrently (default 256). */
  maxDotsPerKey: number;
  /** Replicas in the version vector (default 10,000; every incarnation of every node is one). */
  maxReplicas: number;
  /** Dots in the cloud, seen out of order (default 100,000; a full-state merge empties it). */
  maxCloudDots: number;
  /** JSON bytes of one element's value (default 4,096). */
  maxValueBytes: number;
  /** UTF-8 bytes of a key (default 512) and of a replica id (the same bound). */
  maxKeyBytes: number;
}

export const DEFAULT_ORSET_LIMITS: ORSetLimits = {
  maxKeys: 10_000,
  maxDotsPerKey: 256,
  maxReplicas: 10_000,
  maxCloudDots: 100_000,
  maxValueBytes: 4096,
  maxKeyBytes: 512,
};

/** One add of a key: the dot that made it and the value it gave. */
export interface DottedValue<V> {
  readonly replica: string;
  readonly counter: number;
  readonly value: V;
}

/** The wire form of a delta or a state: arrays of tuples, JSON-safe. */
export interface ORSetWire {
  entries: [key: string, dots: [replica: string, counter: number, value: JsonValue][]][];
  vv: [replica: string, counter: number][];
  cloud: [replica: string, counters: number[]][];
}

const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** Every dot seen: contiguous counters per replica, plus the ones seen beyond a gap. */
class CausalContext {
  readonly vv = new Map<string, number>();
  readonly cloud = new Map<string, Set<number>>();
  cloudSize = 0;

  contains(replica: string, counter: number): boolean {
    if (counter <= (this.vv.get(replica) ?? 0)) return true;
    return this.cloud.get(replica)?.has(counter) ?? false;
  }

  /** The highest counter seen for `replica`. */
  max(replica: string): number {
    let max = this.vv.get(replica) ?? 0;
    for (const counter of this.cloud.get(replica) ?? []) if (counter > max) max = counter;
    return max;
  }

  add(replica: string, counter: number): void {
    if (this.contains(replica, counter)) return;
    let set = this.cloud.get(replica);
    if (set === undefined) {
      set = new Set();
      this.cloud.set(replica, set);
    }
    set.add(counter);
    this.cloudSize++;
    this.compact(replica);
  }

  /** Raises the version vector of `replica` to `counter` (all of 1..counter seen). */
  cover(replica: string, counter: number): void {
    if (counter > (this.vv.get(replica) ?? 0)) this.vv.set(replica, counter);
    this.compact(replica);
  }

  join(other: CausalContext): void {
    for (const [replica, counter] of other.vv) this.cover(replica, counter);
    for (const [replica, counters] of other.cloud) for (const counter of counters) this.add(replica, counter);
  }

  /** Moves cloud dots that have become contiguous into the version vector. */
  private compact(replica: string): void {
    const set = this.cloud.get(replica);
    if (set === undefined) return;
    let top = this.vv.get(replica) ?? 0;
    for (const counter of set) {
      if (counter <= top) {
        set.delete(counter);
        this.cloudSize--;
      }
    }
    while (set.delete(top + 1)) {
      this.cloudSize--;
      top++;
    }
    if (top > 0) this.vv.set(replica, top);
    if (set.size === 0) this.cloud.delete(replica);
  }

  /** Every replica named in the version vector or the cloud. */
  replicas(): Set<string> {
    return new Set([...this.vv.keys(), ...this.cloud.keys()]);
  }

  /** Drops everything known about `replica`'s dots. */
  forget(replica: string): void {
    this.vv.delete(replica);
    const set = this.cloud.get(replica);
    if (set !== undefined) this.cloudSize -= set.size;
    this.cloud.delete(replica);
  }

  replicaCount(): number {
    let count = this.vv.size;
    for (const replica of this.cloud.keys()) if (!this.vv.has(replica)) count++;
    return count;
  }

  clone(): CausalContext {
    const copy = new CausalContext();
    for (const [replica, counter] of this.vv) copy.vv.set(replica, counter);
    for (const [replica, counters] of this.cloud) copy.cloud.set(replica, new Set(counters));
    copy.cloudSize = this.cloudSize;
    return copy;
  }
}

function compareDots(a: DottedValue<unknown>, b: DottedValue<unknown>): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  return a.counter - b.counter;
}

function checkLimits(limits: Partial<ORSetLimits> | undefined): ORSetLimits {
  const merged = { ...DEFAULT_ORSET_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be a positive integer; got ${String(value)}`);
    }
  }
  return merged;
}

/**
 * A dot store with its causal context: what an ORSet holds, and what a delta is.
 * @internal The public faces are `ORSet` and `ORSetDelta`.
 */
export class DotState<V> {
  readonly entries = new Map<string, DottedValue<V>[]>();
  readonly context = new CausalContext();
  /** replica -> counter -> key: finds the key of a dot a remove covered. */
  private readonly index = new Map<string, Map<number, string>>();

  /** True when a dot of `replica` is in the store. */
  holdsDotsOf(replica: string): boolean {
    return (this.index.get(replica)?.size ?? 0) > 0;
  }

  keyOf(replica: string, counter: number): string | undefined {
    return this.index.get(replica)?.get(counter);
  }

  setKey(key: string, dots: DottedValue<V>[]): void {
    for (const old of this.entries.get(key) ?? []) this.index.get(old.replica)?.delete(old.counter);
    if (dots.length === 0) this.entries.delete(key);
    else this.entries.set(key, dots);
    for (const dot of dots) {
      let byCounter = this.index.get(dot.replica);
      if (byCounter === undefined) {
        byCounter = new Map();
        this.index.set(dot.replica, byCounter);
      }
      byCounter.set(dot.counter, key);
    }
  }

  /**
   * Joins `other` into this state. Computes every change first and checks `limits` on the result,
   * so a refused merge changes nothing. Returns the keys whose dots changed.
   */
  mergeFrom(other: DotState<V>, limits: ORSetLimits): string[] {
    // Keys that may change: those `other` holds, and those holding a dot `other` has seen.
    const affected = new Set<string>(other.entries.keys());
    if (other.context.vv.size > 0) {
      for (const [key, dots] of this.entries) {
        if (dots.some((d) => other.context.contains(d.replica, d.counter))) affected.add(key);
      }
    } else {
      for (const [replica, counters] of other.context.cloud) {
        for (const counter of counters) {
          const key = this.keyOf(replica, counter);
          if (key !== undefined) affected.add(key);
        }
      }
    }
    const changes: [string, DottedValue<V>[]][] = [];
    let keyCount = this.entries.size;
    for (const key of affected) {
      const mine = this.entries.get(key) ?? [];
      const theirs = other.entries.get(key) ?? [];
      const next = mine.filter(
        (d) => !other.context.contains(d.replica, d.counter) || theirs.some((t) => t.replica === d.replica && t.counter === d.counter),
      );
      for (const dot of theirs) {
        if (!this.context.contains(dot.replica, dot.counter) && !next.some((d) => d.replica === dot.replica && d.counter === dot.counter)) {
          next.push(dot);
        }
      }
      if (next.length === mine.length && next.every((d, i) => d === mine[i])) continue;
      if (next.length > limits.maxDotsPerKey) {
        throw new HordeError(ErrorCode.STATE_LIMIT, `key ${JSON.stringify(key)} would hold ${next.length} dots, more than ${limits.maxDotsPerKey}`);
      }
      if (mine.length === 0 && next.length > 0) keyCount++;
      if (mine.length > 0 && next.length === 0) keyCount--;
      next.sort(compareDots);
      changes.push([key, next]);
    }
    if (keyCount > limits.maxKeys) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the set would hold ${keyCount} keys, more than ${limits.maxKeys}`);
    }
    const context = this.context.clone();
    context.join(other.context);
    if (context.replicaCount() > limits.maxReplicas) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the causal context would name ${context.replicaCount()} replicas, more than ${limits.maxReplicas}`);
    }
    if (context.cloudSize > limits.maxCloudDots) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the causal context would hold ${context.cloudSize} out-of-order dots, more than ${limits.maxCloudDots}`);
    }
    for (const [key, dots] of changes) this.setKey(key, dots);
    this.context.join(other.context);
    return changes.map(([key]) => key);
  }

  clone(): DotState<V> {
    const copy = new DotState<V>();
    for (const [key, dots] of this.entries) copy.setKey(key, dots.slice());
    copy.context.join(this.context);
    return copy;
  }

  toWire(): ORSetWire {
    const keys = [...this.entries.keys()].sort();
    return {
      entries: keys.map((key) => [key, (this.entries.get(key) ?? []).map((d) => [d.replica, d.counter, d.value as JsonValue])]),
      vv: [...this.context.vv].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
      cloud: [...this.context.cloud]
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([replica, counters]) => [replica, [...counters].sort((a, b) => a - b)]),
    };
  }
}

/** A delta (or a whole state) of an ORSet: what replicas exchange. Immutable once made. */
export class ORSetDelta<V extends JsonValue = JsonValue> {
  /** @internal */
  constructor(readonly state: DotState<V>) {}

  /** True when merging it can change nothing (no dots, empty context). */
  get isEmpty(): boolean {
    return this.state.entries.size === 0 && this.state.context.vv.size === 0 && this.state.context.cloudSize === 0;
  }

  /** The replicas its causal context names. */
  replicas(): string[] {
    return [...this.state.context.replicas()];
  }

  /** The join of two deltas: merging it equals merging both (for batching gossip). */
  static join<V extends JsonValue>(a: ORSetDelta<V>, b: ORSetDelta<V>, limits?: Partial<ORSetLimits>): ORSetDelta<V> {
    const state = a.state.clone();
    state.mergeFrom(b.state, checkLimits(limits));
    return new ORSetDelta(state);
  }

  toWire(): ORSetWire {
    return this.state.toWire();
  }

  /**
   * Validates untrusted input; `parseValue` checks (and may convert) each element's value after
   * the generic JSON check and throws HORDE_MALFORMED_FRAME on a bad one. Throws only
   * HORDE_MALFORMED_FRAME.
   */
  static fromWire<V extends JsonValue = JsonValue>(
    value: unknown,
    options: { limits?: Partial<ORSetLimits>; parseValue?: (value: JsonValue, key: string) => V } = {},
  ): ORSetDelta<V> {
    const limits = checkLimits(options.limits);
    return parseWire('orset', () => {
      const record = expectRecord(value, 'orset');
      const state = new DotState<V>();
      const context = state.context;
      for (const item of expectArray(field(record, 'vv'), 'orset.vv', limits.maxReplicas)) {
        const [replica, counter] = expectTuple(item, 'orset.vv item', 2);
        const name = expectString(replica, 'orset replica', limits.maxKeyBytes);
        if (context.vv.has(name)) malformed(`orset.vv names replica ${JSON.stringify(name)} twice`);
        context.cover(name, expectInt(counter, 'orset.vv counter', 1, MAX_COUNTER));
      }
      let cloudDots = 0;
      for (const item of expectArray(field(record, 'cloud'), 'orset.cloud', limits.maxReplicas)) {
        const [replica, counters] = expectTuple(item, 'orset.cloud item', 2);
        const name = expectString(replica, 'orset replica', limits.maxKeyBytes);
        const list = expectArray(counters, 'orset.cloud counters', limits.maxCloudDots);
        cloudDots += list.length;
        if (cloudDots > limits.maxCloudDots) malformed(`orset.cloud holds more than ${limits.maxCloudDots} dots`);
        for (const counter of list) context.add(name, expectInt(counter, 'orset.cloud counter', 1, MAX_COUNTER));
      }
      if (context.replicaCount() > limits.maxReplicas) malformed(`orset context names more than ${limits.maxReplicas} replicas`);
      const seen = new Set<string>();
      for (const item of expectArray(field(record, 'entries'), 'orset.entries', limits.maxKeys)) {
        const [rawKey, rawDots] = expectTuple(item, 'orset entry', 2);
        const key = expectString(rawKey, 'orset key', limits.maxKeyBytes);
        if (state.entries.has(key)) malformed(`orset key ${JSON.stringify(key)} appears twice`);
        const dots: DottedValue<V>[] = [];
        for (const rawDot of expectArray(rawDots, 'orset dots', limits.maxDotsPerKey)) {
          const [replica, counter, rawValue] = expectTuple(rawDot, 'orset dot', 3);
          const dot = {
            replica: expectString(replica, 'orset replica', limits.maxKeyBytes),
            counter: expectInt(counter, 'orset counter', 1, MAX_COUNTER),
          };
          const id = `${dot.counter}:${dot.replica}`;
          if (seen.has(id)) malformed(`orset dot ${id} appears twice`);
          seen.add(id);
          if (!context.contains(dot.replica, dot.counter)) malformed(`orset dot ${id} is not in its causal context`);
          const json = expectJson(rawValue, 'orset value', limits.maxValueBytes);
          dots.push({ ...dot, value: options.parseValue === undefined ? (json as V) : options.parseValue(json, key) });
        }
        if (dots.length === 0) malformed(`orset key ${JSON.stringify(key)} has no dots`);
        dots.sort(compareDots);
        state.setKey(key, dots);
      }
      return new ORSetDelta(state);
    });
  }
}

/** One replica of an observed-remove set. */
export class ORSet<V extends JsonValue = JsonValue> {
  private readonly data = new DotState<V>();
  private readonly limits: ORSetLimits;
  private counter = 0;

  constructor(
    readonly replica: string,
    limits?: Partial<ORSetLimits>,
  ) {
    this.limits = checkLimits(limits);
    localString(replica, 'replica', this.limits.maxKeyBytes);
  }

  /**
   * Adds `key` with `value` (a new dot that also covers the key's dots observed so far). Returns
   * the delta to send to the other replicas. HORDE_STATE_LIMIT when over a limit (nothing changes).
   */
  add(key: string, value: V = null as V): ORSetDelta<V> {
    localString(key, 'key', this.limits.maxKeyBytes);
    const copy = localJson(value, 'value', this.limits.maxValueBytes) as V;
    const delta = new DotState<V>();
    const counter = Math.max(this.counter, this.data.context.max(this.replica)) + 1;
    for (const dot of this.data.entries.get(key) ?? []) delta.context.add(dot.replica, dot.counter);
    delta.context.add(this.replica, counter);
    delta.setKey(key, [{ replica: this.replica, counter, value: copy }]);
    this.data.mergeFrom(delta, this.limits);
    this.counter = counter;
    return new ORSetDelta(delta);
  }

  /** Removes `key` as observed here (a concurrent add elsewhere survives). Returns the delta. */
  remove(key: string): ORSetDelta<V> {
    return this.removeDots(key, () => true);
  }

  /** Removes the dots of `key` that `which` selects (the rest stay). Returns the delta. */
  removeDots(key: string, which: (dot: DottedValue<V>) => boolean): ORSetDelta<V> {
    const delta = new DotState<V>();
    for (const dot of this.data.entries.get(key) ?? []) if (which(dot)) delta.context.add(dot.replica, dot.counter);
    this.data.mergeFrom(delta, this.limits);
    return new ORSetDelta(delta);
  }

  has(key: string): boolean {
    return this.data.entries.has(key);
  }

  /** The value of `key`: that of its greatest dot (replica id, then counter), the same on every replica. */
  get(key: string): V | undefined {
    const dots = this.data.entries.get(key);
    return dots?.[dots.length - 1]?.value;
  }

  /** Every dot of `key` with its value, in dot order (several after concurrent adds). */
  dots(key: string): readonly DottedValue<V>[] {
    return this.data.entries.get(key) ?? [];
  }

  /** The keys present, sorted. */
  keys(): string[] {
    return [...this.data.entries.keys()].sort();
  }

  /** Each present key with its value (as `get`), keys sorted. */
  values(): Map<string, V> {
    const out = new Map<string, V>();
    for (const key of this.keys()) out.set(key, this.get(key) as V);
    return out;
  }

  get size(): number {
    return this.data.entries.size;
  }

  /** The replicas the causal context names (one per replica that ever added a key seen here). */
  replicas(): string[] {
    return [...this.data.context.replicas()];
  }

  /**
   * Forgets `replica` from the causal context, so the context does not grow with every replica
   * ever seen. Only for a replica that will never mint a dot that must stay removed: the caller
   * must remove any dot of it that arrives later (membership does, by incarnation). Refused
   * (returns false) while a dot of it is in the set, and for this replica itself.
   */
  forgetReplica(replica: string): boolean {
    if (replica === this.replica || this.data.holdsDotsOf(replica)) return false;
    this.data.context.forget(replica);
    return true;
  }

  /**
   * Joins a delta, a group of deltas or a full state. Returns the keys whose dots changed.
   * Refused whole with HORDE_STATE_LIMIT when the result would exceed a limit.
   */
  merge(delta: ORSetDelta<V>): string[] {
    const changed = this.data.mergeFrom(delta.state, this.limits);
    this.counter = Math.max(this.counter, this.data.context.max(this.replica));
    return changed;
  }

  /** The full state, as a delta (what a peer gets on connect). */
  state(): ORSetDelta<V> {
    return new ORSetDelta(this.data.clone());
  }

  toWire(): ORSetWire {
    return this.data.toWire();
  }

  /** A replica `replica` (a fresh id: see the note at the top) starting from a state received on the wire. */
  static fromWire<V extends JsonValue = JsonValue>(
    replica: string,
    value: unknown,
    options: { limits?: Partial<ORSetLimits>; parseValue?: (value: JsonValue, key: string) => V } = {},
  ): ORSet<V> {
    const set = new ORSet<V>(replica, options.limits);
    set.merge(ORSetDelta.fromWire(value, options));
    return set;
  }
}
