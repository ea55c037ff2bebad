// RaftStorage conformance: the same random operations (appends that truncate, hard states,
// truncations, compactions; several groups) on MemoryRaftStorage and on RaftLogStore over a
// SimDisk (WAL files rolling at 2 KiB), compared with the model after every wave, and the store
// again after a reopen.
import { describe, expect, it } from 'vitest';
import { MemoryRaftStorage } from '../../src/testkit/index.js';
import { RaftLogStore } from '../../src/fileio/raft-log-store.js';
import { SimDisk } from '../../src/testkit/sim-disk.js';
import { Model, randomOp, run, view } from '../support/raft-log-model.js';
import { randomInt, seededRandom } from '../support/seeded.js';

const GROUPS = ['a', 'b', 'c'];

describe('RaftStorage conformance', () => {
  it('MemoryRaftStorage and RaftLogStore agree with the model on random operations (10 seeds)', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = seededRandom(seed);
      const disk = new SimDisk();
      disk.mkdirDurable('/data');
      let store = await RaftLogStore.open('/data/raft', { fs: disk.fileSystem(), rollBytes: 2048 });
      const memory = new MemoryRaftStorage();
      const models = new Map(GROUPS.map((g) => [g, new Model()]));
      let serial = 0;
      for (let wave = 0; wave < 20; wave++) {
        const pending: Promise<unknown>[] = [];
        for (const group of GROUPS) {
          for (let i = randomInt(random, 0, 3); i > 0; i--) {
            const op = randomOp(random, models.get(group)!, () => serial++);
            pending.push(run(store, group, op), run(memory, group, op));
            if (op.kind === 'compact') break;
          }
        }
        await Promise.all(pending);
        for (const group of GROUPS) {
          const expected = models.get(group)!.view();
          expect(await view(store, group)).toEqual(expected);
          expect(await view(memory, group)).toEqual(expected);
        }
      }
      expect(await store.groups()).toEqual(await memory.groups());
      await store.close();
      store = await RaftLogStore.open('/data/raft', { fs: disk.fileSystem(), rollBytes: 2048 });
      for (const group of GROUPS) expect(await view(store, group)).toEqual(models.get(group)!.view());
      await store.close();
      await memory.close();
    }
  });
});
