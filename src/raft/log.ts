/**
 * The core's in-memory view of its log: a base (the index, term and membership the log starts
 * after: 0/0/initial membership, or a compaction point) and the entries after it. The core keeps
 * every entry since the last compaction in memory (as `ra`'s mem table does); snapshots bound it.
 * What is durable is the host's business: the core only tells it what changed (core.ts).
 *
 * Membership is the latest config entry in the log, committed or not (the dissertation's
 * one-server-at-a-time rule), or the base's when there is none; the indexes of config entries are
 * kept so truncation and lookups need no scan of the whole log.
 */
import type { Entry, Index, Membership, Term } from './types.js';

/** Where a log starts: the entry before its first one. */
export interface LogBase {
  /** The index the log starts after. */
  readonly index: Index;
  /** The term of that index. */
  readonly term: Term;
  /** The membership as of that index. */
  readonly membership: Membership;
}

/** A Raft log in memory: a base and the entries after it. */
export class RaftLog {
  private baseEntry: LogBase;
  private entries: Entry[];
  private configIndexes: Index[] = [];

  constructor(base: LogBase, entries: readonly Entry[]) {
    this.baseEntry = base;
    this.entries = [];
    for (const entry of entries) this.push(entry);
  }

  /** The entry before the first one held. */
  get base(): LogBase {
    return this.baseEntry;
  }

  /** The last index (the base's when empty). */
  lastIndex(): Index {
    return this.baseEntry.index + this.entries.length;
  }

  /** The term of the last entry. */
  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term at `index`; undefined when it is before the base or after the last entry. */
  term(index: Index): Term | undefined {
    if (index === this.baseEntry.index) return this.baseEntry.term;
    return this.entry(index)?.term;
  }

  /** The entry at `index`, if held. */
  entry(index: Index): Entry | undefined {
    if (index <= this.baseEntry.index) return undefined;
    return this.entries[index - this.baseEntry.index - 1];
  }

  /** Entries `from`..`to` inclusive (each must be held). */
  slice(from: Index, to: Index): Entry[] {
    if (to < from) return [];
    return this.entries.slice(from - this.baseEntry.index - 1, to - this.baseEntry.index);
  }

  /** Appends one entry; its index must be lastIndex() + 1. */
  push(entry: Entry): void {
    if (entry.index !== this.lastIndex() + 1) throw new Error(`raft log: entry ${entry.index} appended after ${this.lastIndex()}`);
    this.entries.push(entry);
    if (entry.kind === 'config') this.configIndexes.push(entry.index);
  }

  /** Drops every entry at `index` and after. */
  truncateFrom(index: Index): void {
    if (index <= this.baseEntry.index) throw new Error(`raft log: truncation at ${index}, at or before the base ${this.baseEntry.index}`);
    this.entries.length = Math.max(0, index - this.baseEntry.index - 1);
    while (this.configIndexes.length > 0 && this.configIndexes[this.configIndexes.length - 1]! >= index) this.configIndexes.pop();
  }

  /** Drops the entries up to `index` (held), which becomes the base. */
  compact(index: Index): LogBase {
    const term = this.term(index);
    if (term === undefined || index > this.lastIndex()) throw new Error(`raft log: compaction at ${index}, not held`);
    const base: LogBase = { index, term, membership: this.membershipAt(index) };
    this.entries = this.entries.slice(index - this.baseEntry.index);
    this.baseEntry = base;
    this.configIndexes = this.configIndexes.filter((i) => i > index);
    return base;
  }

  /** Replaces the whole log by an empty one starting after `base` (a snapshot was installed). */
  reset(base: LogBase): void {
    this.baseEntry = base;
    this.entries = [];
    this.configIndexes = [];
  }

  /** The membership of the log: its latest config entry's, or the base's. */
  membership(): Membership {
    return this.membershipAt(this.lastIndex());
  }

  /** The membership as of `index`. */
  membershipAt(index: Index): Membership {
    for (let i = this.configIndexes.length - 1; i >= 0; i--) {
      const at = this.configIndexes[i]!;
      if (at <= index) {
        const entry = this.entry(at);
        if (entry?.kind === 'config') return entry.membership;
      }
    }
    return this.baseEntry.membership;
  }

  /** The index of the latest config entry (the base's index when none is held). */
  lastConfigIndex(): Index {
    return this.configIndexes[this.configIndexes.length - 1] ?? this.baseEntry.index;
  }

  /** Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The largest index at or before `index` whose term is at most `term` (the conflict hint of a
   * rejected append); stops at the base, or below it when the term there is unknown.
   */
  findConflictByTerm(index: Index, term: Term): Index {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
      i--;
    }
  }
}
