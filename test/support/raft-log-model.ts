// A simple model of one Raft group's storage, random valid operations on it, and helpers to run
// them on a RaftStorage and view its state: shared by the crash and conformance tests.
import { expect } from 'vitest';
import type { RaftHardState, RaftStorage } from '../../src/fileio/raft-storage.js';
import { randomInt } from './seeded.js';

export type Op =
  | { kind: 'append'; firstIndex: number; entries: { term: number; data: string }[]; hardState?: RaftHardState }
  | { kind: 'hardState'; hardState: RaftHardState }
  | { kind: 'truncate'; fromIndex: number }
  | { kind: 'compact'; index: number; term: number };

/** A group's state, the simple way. */
export class Model {
  hardState: RaftHardState = { term: 0, vote: null, commit: 0 };
  snapshot: { index: number; term: number } | null = null;
  first = 1;
  entries: { term: number; data: string }[] = [];

  get last(): number {
    return this.first + this.entries.length - 1;
  }

  apply(op: Op): void {
    switch (op.kind) {
      case 'append':
        this.entries = this.entries.slice(0, op.firstIndex - this.first).concat(op.entries);
        if (op.hardState) this.hardState = op.hardState;
        break;
      case 'hardState':
        this.hardState = op.hardState;
        break;
      case 'truncate':
        this.entries = this.entries.slice(0, op.fromIndex - this.first);
        break;
      case 'compact': {
        const at = op.index - this.first;
        this.entries = at < this.entries.length && this.entries[at]!.term === op.term ? this.entries.slice(at + 1) : [];
        this.first = op.index + 1;
        this.snapshot = { index: op.index, term: op.term };
        break;
      }
    }
  }

  view(): unknown {
    return { hardState: this.hardState, snapshot: this.snapshot, firstIndex: this.first, lastIndex: this.last, entries: this.entries.map((e) => `${e.term}:${e.data}`) };
  }
}

export function modelAfter(ops: Op[], count: number): Model {
  const model = new Model();
  for (const op of ops.slice(0, count)) model.apply(op);
  return model;
}

/** A random valid operation for a group in state `model` (which it then applies). */
export function randomOp(random: () => number, model: Model, serial: () => number): Op {
  const roll = random();
  const term = Math.max(1, model.hardState.term) + (random() < 0.1 ? 1 : 0);
  let op: Op;
  if (roll < 0.55) {
    // Usually at the end; sometimes back in the log (a conflicting suffix).
    const back = random() < 0.25 ? randomInt(random, 0, Math.min(3, model.entries.length)) : 0;
    const firstIndex = model.last + 1 - back;
    const count = randomInt(random, 1, 4);
    const entries = Array.from({ length: count }, () => ({ term, data: `e${serial()}`.padEnd(randomInt(random, 2, 300), '.') }));
    op = { kind: 'append', firstIndex, entries, ...(random() < 0.3 ? { hardState: { term, vote: random() < 0.5 ? null : `n${randomInt(random, 1, 3)}`, commit: Math.max(0, model.last - 1) } } : {}) };
  } else if (roll < 0.7) {
    op = { kind: 'hardState', hardState: { term, vote: random() < 0.5 ? null : 'n1', commit: randomInt(random, 0, Math.max(0, model.last)) } };
  } else if (roll < 0.8 && model.entries.length > 0) {
    op = { kind: 'truncate', fromIndex: randomInt(random, model.first, model.last + 1) };
  } else if (model.entries.length > 0 || random() < 0.3) {
    // Within the log with its term (compaction), or past it (an installed snapshot).
    const index = model.entries.length > 0 && random() < 0.8 ? randomInt(random, model.first, model.last) : model.last + randomInt(random, 1, 3);
    const at = index - model.first;
    op = { kind: 'compact', index, term: at < model.entries.length ? model.entries[at]!.term : term };
  } else {
    op = { kind: 'hardState', hardState: { term, vote: null, commit: 0 } };
  }
  model.apply(op);
  return op;
}

export function run(store: RaftStorage, group: string, op: Op): Promise<unknown> {
  const bytes = (data: string): Uint8Array => new TextEncoder().encode(data);
  switch (op.kind) {
    case 'append':
      return store.append(group, op.firstIndex, op.entries.map((e) => ({ term: e.term, data: bytes(e.data) })), op.hardState);
    case 'hardState':
      return store.saveHardState(group, op.hardState);
    case 'truncate':
      return store.truncate(group, op.fromIndex);
    case 'compact':
      return store.compact(group, op.index, op.term, bytes(`snapshot of ${group} at ${op.index}`));
  }
}

export async function view(store: RaftStorage, group: string): Promise<unknown> {
  const state = await store.load(group);
  const entries = state.lastIndex >= state.firstIndex ? await store.read(group, state.firstIndex) : [];
  if (state.snapshot !== null) {
    const snapshot = await store.readSnapshot(group);
    expect(snapshot && new TextDecoder().decode(snapshot.data)).toBe(`snapshot of ${group} at ${state.snapshot.index}`);
  }
  return { ...state, entries: entries.map((e) => `${e.term}:${new TextDecoder().decode(e.data)}`) };
}

