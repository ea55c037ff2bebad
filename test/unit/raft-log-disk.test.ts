// The Raft log store on the real disk (a temporary directory, real fsync): a round trip with WAL
// rolls, a compaction and a reopen.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftLogStore } from '../../src/fileio/raft-log-store.js';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'horde-raftlog-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('RaftLogStore on the real disk', () => {
  it('round-trips 3 groups through rolls, a compaction and a reopen', async () => {
    const dir = join(root, 'raft');
    const store = await RaftLogStore.open(dir, { rollBytes: 16 * 1024 });
    const data = (group: string, i: number): Uint8Array => new TextEncoder().encode(`${group}:${i}`.padEnd(256, '.'));
    for (let i = 1; i <= 100; i++) {
      await Promise.all(['a', 'b', 'c'].map((g) => store.append(g, i, [{ term: 1, data: data(g, i) }], { term: 1, vote: null, commit: i - 1 })));
    }
    expect(store.stats.generation).toBeGreaterThan(3);
    await store.compact('a', 90, 1, new TextEncoder().encode('a@90'));
    await store.compact('b', 90, 1, new TextEncoder().encode('b@90'));
    await store.compact('c', 90, 1, new TextEncoder().encode('c@90'));
    await store.close();
    const again = await RaftLogStore.open(dir, { rollBytes: 16 * 1024 });
    for (const g of ['a', 'b', 'c']) {
      expect(await again.load(g)).toEqual({ hardState: { term: 1, vote: null, commit: 99 }, snapshot: { index: 90, term: 1 }, firstIndex: 91, lastIndex: 100 });
      const entries = await again.read(g, 91);
      expect(entries.map((e) => new TextDecoder().decode(e.data).replace(/\.+$/, ''))).toEqual(Array.from({ length: 10 }, (_, i) => `${g}:${91 + i}`));
    }
    // Obsolete WAL files were deleted: what is left holds entries 91..100 and the checkpoints.
    expect((await readdir(dir)).filter((name) => name.startsWith('wal-')).length).toBeLessThanOrEqual(4);
    await again.close();
  });
});
