// The Raft log store against crashes and failed fsyncs on a SimDisk, compared with a simple model:
// random concurrent operations on several groups (appends that truncate, hard states, truncations,
// compactions) over a small rollBytes (so WAL files roll and are deleted), a crash at a random disk
// operation (the last unsynced write torn at a random length) or a failed fsync, then a reopen. Each
// group must come back exactly as the model after a prefix of that group's operations that
// includes every acknowledged one: nothing acknowledged lost, nothing unacknowledged half there.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { RaftLogStore } from '../../src/fileio/raft-log-store.js';
import { SimDisk } from '../../src/testkit/sim-disk.js';
import { Model, modelAfter, randomOp, run, view, type Op } from '../support/raft-log-model.js';
import { randomInt, seededRandom } from '../support/seeded.js';

const DIR = '/data/raft';
const GROUPS = ['g0', 'g1', 'g2', 'g3'];

interface Scenario {
  seed: number;
  /** Disk operation (counted from the end of the first open) before which the disk crashes; 0: never. */
  crashAt: number;
  /** Fail the n-th WAL fsync (counted likewise); 0: never. */
  failFsyncAt: number;
  /** Crash again during the reopen, at this operation; 0: never. */
  crashInRecoveryAt: number;
}

async function scenario({ seed, crashAt, failFsyncAt, crashInRecoveryAt }: Scenario): Promise<void> {
  const random = seededRandom(seed);
  let countdown = 0;
  let fsyncCountdown = 0;
  const disk: SimDisk = new SimDisk({
    random: seededRandom(seed ^ 0x5bd1e995),
    beforeOperation: (operation) => {
      if (countdown > 0 && --countdown === 0) disk.crash();
      if (fsyncCountdown > 0 && operation.kind === 'sync' && operation.path.startsWith(`${DIR}/wal-`) && --fsyncCountdown === 0) {
        disk.failFsync(operation.path, 1);
      }
    },
  });
  disk.mkdirDurable('/data');
  const options = { rollBytes: 2048 };
  const store = await RaftLogStore.open(DIR, { fs: disk.fileSystem(), ...options });
  countdown = crashAt;
  fsyncCountdown = failFsyncAt;

  const models = new Map(GROUPS.map((g) => [g, new Model()]));
  const ops = new Map<string, Op[]>(GROUPS.map((g) => [g, []]));
  const acked = new Map<string, number>(GROUPS.map((g) => [g, 0]));
  let serial = 0;
  let stopped = false;
  for (let wave = 0; wave < 25 && !stopped && disk.incarnation === 0; wave++) {
    const pending: Promise<unknown>[] = [];
    for (const group of GROUPS) {
      const n = randomInt(random, 0, 4);
      for (let i = 0; i < n; i++) {
        const op = randomOp(random, models.get(group)!, () => serial++);
        const list = ops.get(group)!;
        list.push(op);
        const position = list.length;
        pending.push(
          run(store, group, op).then(
            () => acked.set(group, Math.max(acked.get(group)!, position)),
            (error: unknown) => {
              if (!(error instanceof HordeError) || (error.code !== ErrorCode.LOG_FAILED && error.code !== ErrorCode.IO_ERROR)) throw error;
              stopped = true;
            },
          ),
        );
        // A compaction applies when its snapshot file is written: the group waits for it.
        if (op.kind === 'compact') break;
      }
    }
    await Promise.all(pending);
  }
  if (disk.incarnation === 0) {
    try {
      await store.close();
    } catch (error) {
      // Only a crash during the close may fail it.
      if (disk.incarnation === 0) throw error;
    }
  }
  if (disk.incarnation === 0 && crashAt > 0) disk.crash();
  countdown = 0;
  fsyncCountdown = 0;

  let reopened: RaftLogStore | undefined;
  if (crashInRecoveryAt > 0) {
    countdown = crashInRecoveryAt;
    try {
      reopened = await RaftLogStore.open(DIR, { fs: disk.fileSystem(), ...options });
    } catch (error) {
      if (!(error instanceof HordeError)) throw error;
    }
    if (countdown === 0) reopened = undefined; // it crashed meanwhile: its store is dead
    countdown = 0;
  }
  reopened ??= await RaftLogStore.open(DIR, { fs: disk.fileSystem(), ...options });

  for (const group of GROUPS) {
    const list = ops.get(group)!;
    const got = await view(reopened, group);
    const candidates: unknown[] = [];
    for (let count = acked.get(group)!; count <= list.length; count++) candidates.push(modelAfter(list, count).view());
    expect(candidates, `group ${group}: ${list.length} ops, ${acked.get(group)} acknowledged`).toContainEqual(got);
  }
  // The store goes on: one more write per group survives a crash.
  for (const group of GROUPS) await reopened.saveHardState(group, { term: 99, vote: 'after', commit: 0 });
  disk.crash();
  const last = await RaftLogStore.open(DIR, { fs: disk.fileSystem(), ...options });
  for (const group of GROUPS) expect((await last.load(group)).hardState).toEqual({ term: 99, vote: 'after', commit: 0 });
  await last.close();
}

describe('RaftLogStore: crashes', () => {
  it('keeps every acknowledged write and no half write, for crashes at every point of a run (fast-check, fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 0, max: 40 }), async (seed, crashAt, crashInRecoveryAt) => {
        await scenario({ seed, crashAt, failFsyncAt: 0, crashInRecoveryAt });
      }),
      { seed: 20261204, numRuns: 120 },
    );
  });

  it('answers the callers of a failed fsync with HORDE_LOG_FAILED and loses nothing acknowledged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 1, max: 60 }), fc.boolean(), async (seed, failFsyncAt, crash) => {
        await scenario({ seed, crashAt: crash ? 5000 : 0, failFsyncAt, crashInRecoveryAt: 0 });
      }),
      { seed: 4052, numRuns: 60 },
    );
  });

  it('runs without faults to the same state as the model', async () => {
    for (let seed = 1; seed <= 5; seed++) await scenario({ seed, crashAt: 0, failFsyncAt: 0, crashInRecoveryAt: 0 });
  });
});
