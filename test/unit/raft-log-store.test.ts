// The Raft log store over a SimDisk: append/read/truncate/compact/hard state round trips across a
// reopen, many groups in one WAL, group commit (one fsync for concurrent appends of many groups,
// each answered only after it), WAL rolling and deletion of obsolete files, and the bounds.
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { RaftLogStore, type RaftLogStoreOptions } from '../../src/fileio/raft-log-store.js';
import type { RaftEntry } from '../../src/fileio/raft-storage.js';
import { SimDisk, type SimDiskOperation } from '../../src/testkit/sim-disk.js';

const DIR = '/data/raft';
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const show = (entries: RaftEntry[]): string[] => entries.map((e) => `${e.term}:${new TextDecoder().decode(e.data)}`);
const entries = (term: number, ...names: string[]): RaftEntry[] => names.map((name) => ({ term, data: text(name) }));

function newDisk(onOperation?: (operation: SimDiskOperation) => void): SimDisk {
  const disk = new SimDisk({ beforeOperation: onOperation });
  disk.mkdirDurable('/data');
  return disk;
}

function open(disk: SimDisk, options: RaftLogStoreOptions = {}): Promise<RaftLogStore> {
  return RaftLogStore.open(DIR, { fs: disk.fileSystem(), ...options });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HordeError) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('RaftLogStore: round trips', () => {
  it('appends, reads, truncates a conflicting suffix, saves the hard state, and finds it all after a crash', async () => {
    const disk = newDisk();
    const store = await open(disk);
    expect(await store.load('g')).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, firstIndex: 1, lastIndex: 0 });
    expect(await store.append('g', 1, entries(1, 'a', 'b', 'c'))).toEqual({ lastIndex: 3 });
    expect(await store.append('g', 4, entries(2, 'd'), { term: 2, vote: 'n2', commit: 2 })).toEqual({ lastIndex: 4 });
    // A conflicting suffix from 3: replaced.
    expect(await store.append('g', 3, entries(3, 'C', 'D', 'E'))).toEqual({ lastIndex: 5 });
    await store.saveHardState('g', { term: 3, vote: null, commit: 4 });
    expect(show(await store.read('g', 1))).toEqual(['1:a', '1:b', '3:C', '3:D', '3:E']);
    expect(show(await store.read('g', 2, 4))).toEqual(['1:b', '3:C']);
    await store.truncate('g', 5);
    disk.crash();
    const again = await open(disk);
    expect(await again.load('g')).toEqual({ hardState: { term: 3, vote: null, commit: 4 }, snapshot: null, firstIndex: 1, lastIndex: 4 });
    expect(show(await again.read('g', 1))).toEqual(['1:a', '1:b', '3:C', '3:D']);
    expect(await again.groups()).toEqual(['g']);
    await again.close();
  });

  it('compacts to a snapshot (keeping the suffix when the term matches, dropping all when not) and reads it back after a reopen', async () => {
    const disk = newDisk();
    const store = await open(disk);
    await store.append('g', 1, entries(1, 'a', 'b', 'c', 'd'));
    await store.compact('g', 2, 1, text('state@2'));
    expect(await store.load('g')).toEqual({ hardState: { term: 0, vote: null, commit: 0 }, snapshot: { index: 2, term: 1 }, firstIndex: 3, lastIndex: 4 });
    expect(show(await store.read('g', 3))).toEqual(['1:c', '1:d']);
    expect(await code(store.read('g', 2))).toBe(ErrorCode.RAFT_INDEX);
    expect(await code(store.append('g', 2, entries(1, 'x')))).toBe(ErrorCode.RAFT_INDEX);
    expect(await code(store.compact('g', 2, 1, text('again')))).toBe(ErrorCode.RAFT_INDEX);
    // A snapshot from a leader whose entry 4 has another term: the whole log goes.
    await store.compact('g', 4, 2, text('state@4'));
    expect(await store.load('g')).toMatchObject({ snapshot: { index: 4, term: 2 }, firstIndex: 5, lastIndex: 4 });
    // Past the end (InstallSnapshot on a lagging follower).
    await store.compact('g', 9, 3, text('state@9'));
    await store.append('g', 10, entries(3, 'j'));
    await store.close();
    const again = await open(disk);
    expect(await again.load('g')).toMatchObject({ snapshot: { index: 9, term: 3 }, firstIndex: 10, lastIndex: 10 });
    const snapshot = await again.readSnapshot('g');
    expect(snapshot && { index: snapshot.index, term: snapshot.term, data: new TextDecoder().decode(snapshot.data) }).toEqual({ index: 9, term: 3, data: 'state@9' });
    // Only the latest snapshot file remains.
    expect(await disk.fileSystem().readdir(`${DIR}/snap`)).toEqual(['g.9.snap']);
    await again.close();
  });

  it('keeps many groups interleaved in one WAL apart', async () => {
    const disk = newDisk();
    const store = await open(disk);
    const groups = Array.from({ length: 20 }, (_, i) => `group-${i}`);
    for (let round = 1; round <= 5; round++) {
      await Promise.all(groups.map((g, i) => store.append(g, round, entries(round, `${g}/${round}/${i}`))));
    }
    await Promise.all(groups.map((g, i) => (i % 2 === 0 ? store.truncate(g, 4) : store.compact(g, 3, 3, text(`snap ${g}`)))));
    disk.crash();
    const again = await open(disk);
    expect(await again.groups()).toEqual([...groups].sort());
    for (const [i, g] of groups.entries()) {
      const state = await again.load(g);
      if (i % 2 === 0) {
        expect(state).toMatchObject({ firstIndex: 1, lastIndex: 3, snapshot: null });
        expect(show(await again.read(g, 1))).toEqual([1, 2, 3].map((r) => `${r}:${g}/${r}/${i}`));
      } else {
        expect(state).toMatchObject({ firstIndex: 4, lastIndex: 5, snapshot: { index: 3, term: 3 } });
        expect(show(await again.read(g, 4))).toEqual([4, 5].map((r) => `${r}:${g}/${r}/${i}`));
      }
    }
    await again.close();
  });

  it('orders a truncation racing an append (both in flight) as they were called, in memory and after a crash', async () => {
    const disk = newDisk();
    const store = await open(disk);
    await store.append('g', 1, entries(1, 'a', 'b'));
    const hold = disk.hold((operation) => operation.kind === 'sync' && operation.path.includes('/wal-'));
    // The leader's append of 3..5 is still being written when a new leader's entries replace 2..
    const first = store.append('g', 3, entries(1, 'c', 'd', 'e'));
    while (hold.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = store.append('g', 2, entries(2, 'B'));
    const third = store.truncate('g', 3);
    expect(show(await store.read('g', 1))).toEqual(['1:a', '2:B']);
    hold.release();
    expect(await first).toEqual({ lastIndex: 5 });
    expect(await second).toEqual({ lastIndex: 2 });
    await third;
    disk.crash();
    const again = await open(disk);
    expect(show(await again.read('g', 1))).toEqual(['1:a', '2:B']);
    await again.close();
  });

  it('applies a compaction of a new group to the group a racing append created', async () => {
    const disk = newDisk();
    const store = await open(disk);
    const compacted = store.compact('fresh', 5, 1, text('installed'));
    const appended = store.append('fresh', 1, entries(1, 'a'));
    await Promise.all([compacted, appended]);
    expect(await store.load('fresh')).toMatchObject({ snapshot: { index: 5, term: 1 }, firstIndex: 6, lastIndex: 5 });
    await store.close();
    const again = await open(disk);
    expect(await again.load('fresh')).toMatchObject({ snapshot: { index: 5, term: 1 }, firstIndex: 6, lastIndex: 5 });
    await again.close();
  });

  it('reads see an append at once, before it is durable', async () => {
    const disk = newDisk();
    const store = await open(disk);
    const appended = store.append('g', 1, entries(1, 'a', 'b'));
    expect(show(await store.read('g', 1))).toEqual(['1:a', '1:b']);
    await appended;
    await store.close();
  });
});

describe('RaftLogStore: group commit', () => {
  it('answers 64 concurrent appends of 64 groups after one shared fsync, none before it', async () => {
    const disk = newDisk();
    const store = await open(disk);
    const syncs: string[] = [];
    const counting = newCounting(disk, syncs);
    const hold = disk.hold((operation) => operation.kind === 'sync' && operation.path.includes('/wal-'));
    let answered = 0;
    const appends = Array.from({ length: 64 }, (_, i) =>
      store.append(`g${i}`, 1, entries(1, `e${i}`), { term: 1, vote: `g${i}`, commit: 0 }).then((result) => {
        answered++;
        return result;
      }),
    );
    while (hold.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(0);
    expect(hold.waiting).toHaveLength(1);
    hold.release();
    expect(await Promise.all(appends)).toEqual(appends.map(() => ({ lastIndex: 1 })));
    expect(counting()).toBe(1);
    await store.close();
  });
});

/** Counts WAL fsyncs from now on (via a hold that lets everything through at once). */
function newCounting(disk: SimDisk, syncs: string[]): () => number {
  const start = syncs.length;
  const hold = disk.hold((operation) => {
    if (operation.kind === 'sync' && operation.path.includes('/wal-')) syncs.push(operation.path);
    return false;
  });
  void hold;
  return () => syncs.length - start;
}

describe('RaftLogStore: WAL files', () => {
  it('rolls to a new file at rollBytes and deletes files that hold no live entry', async () => {
    const disk = newDisk();
    const fs = disk.fileSystem();
    const wals = async (): Promise<string[]> => (await fs.readdir(DIR)).filter((name) => name.startsWith('wal-'));
    const store = await open(disk, { rollBytes: 4096 });
    // Group "pinned" keeps its first entries (never compacted): its files stay.
    await store.append('pinned', 1, entries(1, 'p1'));
    const big = new Uint8Array(1000).fill(7);
    let last = 0;
    for (let i = 1; i <= 40; i++) {
      await store.append('busy', i, [{ term: 1, data: big }]);
      last = i;
    }
    const before = await wals();
    expect(before.length).toBeGreaterThan(5);
    expect(store.stats.walFiles).toBe(before.length);
    await store.compact('busy', last, 1, text('busy snapshot'));
    // Files after the one holding "pinned"'s entry are obsolete but must wait for it (prefix order).
    const pinnedStill = await wals();
    expect(pinnedStill.length).toBeGreaterThanOrEqual(before.length);
    expect(pinnedStill[0]).toBe(before[0]);
    await store.compact('pinned', 1, 1, text('pinned snapshot'));
    // Deletion runs after the compaction's marker is durable; the roll also deletes. Wait for the
    // store to settle by making one more durable write.
    await store.saveHardState('pinned', { term: 1, vote: null, commit: 1 });
    await store.append('busy', last + 1, entries(1, 'next'));
    const after = await wals();
    expect(after.length).toBeLessThanOrEqual(2);
    disk.crash();
    const again = await open(disk, { rollBytes: 4096 });
    expect(await again.load('busy')).toMatchObject({ snapshot: { index: last, term: 1 }, firstIndex: last + 1, lastIndex: last + 1 });
    expect(await again.load('pinned')).toMatchObject({ hardState: { term: 1, vote: null, commit: 1 }, snapshot: { index: 1, term: 1 }, lastIndex: 1 });
    expect(show(await again.read('busy', last + 1))).toEqual(['1:next']);
    await again.close();
  });
});

describe('RaftLogStore: bounds and bad input', () => {
  it('refuses writes past maxQueuedBytes with HORDE_OVERLOADED, changing nothing for them', async () => {
    const disk = newDisk();
    const store = await open(disk, { maxBatchBytes: 1000, maxQueuedBytes: 3000 });
    const data = new Uint8Array(400);
    // All in one turn: none is durable before the others are submitted.
    const results = Array.from({ length: 10 }, (_, i) => store.append(`g${i}`, 1, [{ term: 1, data }]).then(() => 'ok', (error: HordeError) => error.code));
    const codes = await Promise.all(results);
    expect(codes.filter((c) => c === 'ok').length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === ErrorCode.OVERLOADED).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'ok' || c === ErrorCode.OVERLOADED)).toBe(true);
    const accepted = codes.flatMap((c, i) => (c === 'ok' ? [`g${i}`] : []));
    expect(await store.groups()).toEqual(accepted.sort());
    await store.close();
  });

  it('refuses with stable codes before anything changes', async () => {
    const disk = newDisk();
    const store = await open(disk, { maxEntryBytes: 100, maxBatchBytes: 1000, maxQueuedBytes: 2000, maxGroups: 2, maxLiveBytes: 500 });
    expect(await code(store.append('g', 1, [{ term: 1, data: new Uint8Array(101) }]))).toBe(ErrorCode.RECORD_TOO_LARGE);
    expect(await code(store.append('g', 1, Array.from({ length: 20 }, () => ({ term: 1, data: new Uint8Array(50) }))))).toBe(ErrorCode.RECORD_TOO_LARGE);
    expect(await code(store.append('g', 2, entries(1, 'gap')))).toBe(ErrorCode.RAFT_INDEX);
    expect(await code(store.append('bad/name', 1, entries(1, 'x')))).toBe(ErrorCode.INVALID_OPTION);
    expect(await code(store.append('g', 1, []))).toBe(ErrorCode.INVALID_OPTION);
    expect(await code(store.saveHardState('g', { term: -1, vote: null, commit: 0 }))).toBe(ErrorCode.INVALID_OPTION);
    await store.append('g', 1, Array.from({ length: 5 }, () => ({ term: 1, data: new Uint8Array(100) })));
    expect(await code(store.append('h', 1, entries(1, 'x')))).toBe(ErrorCode.RAFT_LIMIT); // 500 live bytes held
    await store.compact('g', 5, 1, text('s'));
    await store.append('h', 1, entries(1, 'x'));
    expect(await code(store.append('third', 1, entries(1, 'x')))).toBe(ErrorCode.RAFT_LIMIT); // maxGroups 2
    expect(await code(store.read('g', 7))).toBe(ErrorCode.RAFT_INDEX);
    expect(await code(store.truncate('g', 3))).toBe(ErrorCode.RAFT_INDEX);
    expect(await store.groups()).toEqual(['g', 'h']);
    expect(await store.load('g')).toMatchObject({ firstIndex: 6, lastIndex: 5 });
    await store.close();
    expect(await code(store.load('g'))).toBe(ErrorCode.LOG_CLOSED);
  });
});
