/**
 * One Raft group's log in memory: the live entries (after the snapshot) with their terms, bytes
 * and the WAL file (generation) each was written to, plus the hard state and snapshot position.
 * Pure state, no I/O: the store applies each WAL record to it when the record is accepted (and
 * again, in the same order, when recovery replays it), so memory and disk agree.
 *
 * Operations that drop entries (truncating a suffix, compacting a prefix) report how many entries
 * of each WAL generation they released, so the store can tell when a WAL file holds no live entry.
 * Entries are kept in parallel arrays from `first` on; dropping a prefix shifts them (O(live)),
 * which compaction pays once per snapshot.
 */

import type { RaftEntry, RaftHardState } from './raft-storage.js';

/** Entries released per WAL generation. */
export type Released = Map<number, number>;

export class RaftGroupLog {
  hardState: RaftHardState = { term: 0, vote: null, commit: 0 };
  snapshotIndex = 0;
  snapshotTerm = 0;
  /** Index of `terms[0]`. */
  first = 1;
  /** Bytes of entry data held. */
  bytes = 0;
  private terms: number[] = [];
  private datas: Uint8Array[] = [];
  private gens: number[] = [];

  constructor(readonly name: string) {}

  get lastIndex(): number {
    return this.first + this.terms.length - 1;
  }

  get size(): number {
    return this.terms.length;
  }

  /** The term of entry `index`, the snapshot's term at its index, else undefined. */
  termAt(index: number): number | undefined {
    if (index >= this.first && index <= this.lastIndex) return this.terms[index - this.first];
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return undefined;
  }

  /** Bytes the entries from `index` on hold. */
  bytesFrom(index: number): number {
    let bytes = 0;
    for (let i = Math.max(index, this.first) - this.first; i < this.datas.length; i++) bytes += this.datas[i]!.length;
    return bytes;
  }

  /** Entries `from .. to - 1`, stopping before `maxBytes` (each entry counting `perEntry` besides its data; at least one). The caller checks the bounds. */
  read(from: number, to: number, maxBytes: number, perEntry: number): RaftEntry[] {
    const out: RaftEntry[] = [];
    let bytes = 0;
    for (let index = from; index < to; index++) {
      const data = this.datas[index - this.first]!;
      if (out.length > 0 && bytes + data.length + perEntry > maxBytes) break;
      out.push({ term: this.terms[index - this.first]!, data });
      bytes += data.length + perEntry;
    }
    return out;
  }

  /** Drops the entries from `index` on. */
  truncateFrom(index: number, released: Released): void {
    const keep = Math.max(0, index - this.first);
    if (keep >= this.terms.length) return;
    this.release(keep, this.terms.length, released);
    this.terms.length = keep;
    this.datas.length = keep;
    this.gens.length = keep;
  }

  /**
   * Appends entries at `firstIndex` (truncating from there first). A `firstIndex` past the end or
   * before `first` happens only in recovery, after a hole: the entries before it sat in WAL files
   * deleted because they were all compacted or superseded; the log restarts at `firstIndex` (a
   * later snapshot covers the hole, which recovery checks at the end).
   */
  append(firstIndex: number, entries: readonly RaftEntry[], gen: number, released: Released): void {
    if (firstIndex <= this.lastIndex) this.truncateFrom(firstIndex, released);
    if (firstIndex !== this.lastIndex + 1) {
      this.release(0, this.terms.length, released);
      this.terms = [];
      this.datas = [];
      this.gens = [];
      this.first = firstIndex;
    }
    for (const entry of entries) {
      this.terms.push(entry.term);
      this.datas.push(entry.data);
      this.gens.push(gen);
      this.bytes += entry.data.length;
    }
  }

  /** Records a snapshot at `index`/`term` and drops what it covers (everything unless entry `index` has term `term`). */
  compact(index: number, term: number, released: Released): void {
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    // Before the entries held: only in recovery, where the log restarted after a hole that a
    // later snapshot covers (at run time `first` is always snapshotIndex + 1).
    if (index < this.first) return;
    if (index <= this.lastIndex && this.termAt(index) === term) {
      const drop = index - this.first + 1;
      this.release(0, drop, released);
      this.terms.splice(0, drop);
      this.datas.splice(0, drop);
      this.gens.splice(0, drop);
    } else {
      this.release(0, this.terms.length, released);
      this.terms = [];
      this.datas = [];
      this.gens = [];
    }
    this.first = index + 1;
  }

  /** Entries held per WAL generation (for recovery's count of live entries). */
  countGens(into: Map<number, number>): void {
    for (const gen of this.gens) into.set(gen, (into.get(gen) ?? 0) + 1);
  }

  private release(from: number, to: number, released: Released): void {
    for (let i = from; i < to; i++) {
      const gen = this.gens[i]!;
      released.set(gen, (released.get(gen) ?? 0) + 1);
      this.bytes -= this.datas[i]!.length;
    }
  }
}
