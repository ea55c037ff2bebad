/**
 * Cluster metadata: a map of last-writer-wins registers under hybrid logical clock timestamps
 * (hlc.ts). Each key holds the write with the greatest timestamp; equal wall and logical parts are
 * ordered by node name (inside `compareHlc`); two writes with the very same timestamp (a caller
 * reusing one) are ordered tombstone first, then by JSON text, so every replica picks the same.
 * A delete is a write too (a tombstone), so a delete wins over every older set, wherever it
 * arrives first. Merge keeps the greater write per key: idempotent, commutative, associative.
 *
 * Catch-up ("send me everything after version X"): every change here, local or merged, gets the
 * next local `version`; `deltaSince(v)` returns the entries changed after `v`. A peer remembers the
 * version it got from this replica (per incarnation) and asks for what followed.
 *
 * The timestamps come from the caller's HybridClock. Before merging a peer's delta the server
 * passes `delta.latest` through `clock.receive`, which refuses timestamps too far in the future
 * (HORDE_CLOCK_DRIFT) and keeps later local writes after what was seen.
 *
 * Bounds: `maxKeys` live keys for a local `set` of a new key; `maxEntries` keys including
 * tombstones for everything, merges included (concurrent sets on several nodes may take the live
 * count a little over `maxKeys`, never over `maxEntries`); `maxValueBytes` of JSON per value.
 * Over a bound the change or merge is refused whole with HORDE_STATE_LIMIT. Tombstones stay until
 * `pruneTombstones(before)`: a replica that was away longer than that horizon could bring back a
 * value deleted in the meantime, so the horizon should exceed the longest partition tolerated.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { type Hlc, type HlcWire, compareHlc, hlcFromWire, hlcToWire } from './hlc.js';
import { type JsonValue, expectArray, expectJson, expectRecord, expectString, field, localJson, localString, malformed, parseWire } from './wire-check.js';

export interface LwwLimits {
  /** Live keys a local `set` may create (default 10,000). */
  maxKeys: number;
  /** Keys including tombstones, for every change and merge (default 20,000). */
  maxEntries: number;
  /** JSON bytes of one value (default 65,536). */
  maxValueBytes: number;
  /** UTF-8 bytes of a key (default 512). */
  maxKeyBytes: number;
}

export const DEFAULT_LWW_LIMITS: LwwLimits = { maxKeys: 10_000, maxEntries: 20_000, maxValueBytes: 65_536, maxKeyBytes: 512 };

/** One register: a value, or a tombstone (`deleted`), and the timestamp of the write. */
export interface LwwEntry {
  readonly key: string;
  readonly ts: Hlc;
  readonly deleted: boolean;
  /** `null` for a tombstone. */
  readonly value: JsonValue;
}

/** Wire form: `[key, ts]` for a tombstone, `[key, ts, value]` for a value. */
export interface LwwWire {
  entries: ([key: string, ts: HlcWire] | [key: string, ts: HlcWire, value: JsonValue])[];
}

/** Orders two writes of one key; the greater wins. */
function compareWrites(a: LwwEntry, b: LwwEntry): number {
  const byTime = compareHlc(a.ts, b.ts);
  if (byTime !== 0) return byTime;
  if (a.deleted !== b.deleted) return a.deleted ? 1 : -1;
  const ja = JSON.stringify(a.value);
  const jb = JSON.stringify(b.value);
  return ja === jb ? 0 : ja < jb ? -1 : 1;
}

function checkLimits(limits: Partial<LwwLimits> | undefined): LwwLimits {
  const merged = { ...DEFAULT_LWW_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be a positive integer; got ${String(value)}`);
    }
  }
  if (merged.maxEntries < merged.maxKeys) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `option "maxEntries" (${merged.maxEntries}) must be at least "maxKeys" (${merged.maxKeys})`);
  }
  return merged;
}

/** A set of writes: a delta, a catch-up or a full state. Immutable. */
export class LwwDelta {
  /** @internal */
  constructor(readonly entries: readonly LwwEntry[]) {}

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** The greatest timestamp in it (to pass through `HybridClock.receive` before merging). */
  get latest(): Hlc | undefined {
    let latest: Hlc | undefined;
    for (const entry of this.entries) if (latest === undefined || compareHlc(entry.ts, latest) > 0) latest = entry.ts;
    return latest;
  }

  toWire(): LwwWire {
    return {
      entries: this.entries.map((e) => (e.deleted ? [e.key, hlcToWire(e.ts)] : [e.key, hlcToWire(e.ts), e.value])),
    };
  }

  /** Validates untrusted input (at most `maxEntries` writes, one per key); throws only HORDE_MALFORMED_FRAME. */
  static fromWire(value: unknown, limits?: Partial<LwwLimits>): LwwDelta {
    const bounds = checkLimits(limits);
    return parseWire('lww map', () => {
      const record = expectRecord(value, 'lww map');
      const keys = new Set<string>();
      const entries: LwwEntry[] = [];
      for (const item of expectArray(field(record, 'entries'), 'lww entries', bounds.maxEntries)) {
        const tuple = expectArray(item, 'lww entry', 3);
        if (tuple.length < 2) malformed('lww entry has fewer than 2 items');
        const key = expectString(tuple[0], 'lww key', bounds.maxKeyBytes);
        if (keys.has(key)) malformed(`lww key ${JSON.stringify(key)} appears twice`);
        keys.add(key);
        const ts = hlcFromWire(tuple[1]);
        const deleted = tuple.length === 2;
        entries.push({ key, ts, deleted, value: deleted ? null : expectJson(tuple[2], 'lww value', bounds.maxValueBytes) });
      }
      return new LwwDelta(entries);
    });
  }
}

interface Slot {
  entry: LwwEntry;
  /** The local version at which this key last changed. */
  version: number;
}

export class LwwMap {
  private readonly slots = new Map<string, Slot>();
  private readonly limits: LwwLimits;
  private live = 0;
  private currentVersion = 0;

  constructor(limits?: Partial<LwwLimits>) {
    this.limits = checkLimits(limits);
  }

  /** Local changes and merges so far: the version a peer passes to `deltaSince`. */
  get version(): number {
    return this.currentVersion;
  }

  /** Live keys. */
  get size(): number {
    return this.live;
  }

  /** Keys including tombstones. */
  get entryCount(): number {
    return this.slots.size;
  }

  /**
   * Writes `value` under `key` at `ts` (from the local HybridClock). Returns the delta to send; an
   * empty one when a later write of the key is already known (then nothing changes).
   */
  set(key: string, value: JsonValue, ts: Hlc): LwwDelta {
    localString(key, 'key', this.limits.maxKeyBytes);
    const entry: LwwEntry = { key, ts: { ...ts }, deleted: false, value: localJson(value, 'value', this.limits.maxValueBytes) };
    const current = this.slots.get(key);
    if ((current === undefined || current.entry.deleted) && this.live >= this.limits.maxKeys && this.wins(entry)) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the metadata map holds ${this.live} keys, its limit`);
    }
    return this.write(entry);
  }

  /** Deletes `key` at `ts` (a tombstone, also for a key never seen here). Returns the delta to send. */
  delete(key: string, ts: Hlc): LwwDelta {
    localString(key, 'key', this.limits.maxKeyBytes);
    return this.write({ key, ts: { ...ts }, deleted: true, value: null });
  }

  get(key: string): JsonValue | undefined {
    const slot = this.slots.get(key);
    return slot === undefined || slot.entry.deleted ? undefined : slot.entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** The winning write of `key`, a tombstone included. */
  entry(key: string): LwwEntry | undefined {
    return this.slots.get(key)?.entry;
  }

  /** Live keys with their values, sorted by key. */
  entries(): [string, JsonValue][] {
    const out: [string, JsonValue][] = [];
    for (const key of [...this.slots.keys()].sort()) {
      const entry = this.slots.get(key)!.entry;
      if (!entry.deleted) out.push([key, entry.value]);
    }
    return out;
  }

  /** The writes that changed here after local version `version` (0: everything), and the version now. */
  deltaSince(version: number): { delta: LwwDelta; version: number } {
    const entries: LwwEntry[] = [];
    for (const slot of this.slots.values()) if (slot.version > version) entries.push(slot.entry);
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { delta: new LwwDelta(entries), version: this.currentVersion };
  }

  /** Everything, tombstones included (what a peer gets on connect). */
  state(): LwwDelta {
    return this.deltaSince(0).delta;
  }

  /**
   * Keeps the greater write per key. Refused whole with HORDE_STATE_LIMIT when the map would hold
   * more than `maxEntries` keys. Returns the keys whose write changed.
   */
  merge(delta: LwwDelta): string[] {
    const winners = delta.entries.filter((e) => this.wins(e));
    const added = winners.filter((e) => !this.slots.has(e.key)).length;
    if (this.slots.size + added > this.limits.maxEntries) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the metadata map would hold ${this.slots.size + added} entries, more than ${this.limits.maxEntries}`);
    }
    for (const entry of winners) this.write(entry);
    return winners.map((e) => e.key);
  }

  /** Drops tombstones older than `before` (see the note at the top). Returns how many. */
  pruneTombstones(before: Hlc): number {
    let dropped = 0;
    for (const [key, slot] of this.slots) {
      if (slot.entry.deleted && compareHlc(slot.entry.ts, before) < 0) {
        this.slots.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  toWire(): LwwWire {
    return this.state().toWire();
  }

  static fromWire(value: unknown, limits?: Partial<LwwLimits>): LwwMap {
    const map = new LwwMap(limits);
    map.merge(LwwDelta.fromWire(value, limits));
    return map;
  }

  private wins(entry: LwwEntry): boolean {
    const current = this.slots.get(entry.key);
    return current === undefined || compareWrites(entry, current.entry) > 0;
  }

  private write(entry: LwwEntry): LwwDelta {
    const current = this.slots.get(entry.key);
    if (current !== undefined && compareWrites(entry, current.entry) <= 0) return new LwwDelta([]);
    if (current === undefined && this.slots.size >= this.limits.maxEntries) {
      throw new HordeError(ErrorCode.STATE_LIMIT, `the metadata map holds ${this.slots.size} entries, its limit`);
    }
    const wasLive = current !== undefined && !current.entry.deleted;
    if (wasLive !== !entry.deleted) this.live += entry.deleted ? -1 : 1;
    this.slots.set(entry.key, { entry, version: ++this.currentVersion });
    return new LwwDelta([entry]);
  }
}
