// ctx.compute in a SimCluster: the compute module's tasks run in the simulation's thread and are
// answered as the file worker's pool answers them: the value, the task's error with its code, or
// HORDE_UNKNOWN_TASK; without tasks, as on a node without a data directory.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster, type IoRequest } from '../../src/index.js';
import { behaviours } from '../fixtures/behaviours.js';

const clusters: SimCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stop()));
});

const tasks = {
  square: (input: unknown): number => (input as number) * (input as number),
  later: (input: unknown): Promise<string> => Promise.resolve(`later ${String(input)}`),
  fail: (): never => {
    throw Object.assign(new Error('the task refuses'), { code: 'E_TASK' });
  },
};

describe('SimCluster ctx.compute', () => {
  it('runs the compute tasks it was given, sync and async, and answers errors with their codes', async () => {
    const cluster = await SimCluster.start({ behaviours, nodes: 2, seed: 1, compute: tasks });
    clusters.push(cluster);
    const client = cluster.spawn<IoRequest>(2, 'io-client');
    expect(await cluster.ask(1, client, { op: 'compute', task: 'square', input: 12 })).toEqual({ ok: true, value: 144, error: undefined });
    expect(await cluster.ask(1, client, { op: 'compute', task: 'later', input: 3 })).toEqual({ ok: true, value: 'later 3', error: undefined });
    expect(await cluster.ask(1, client, { op: 'compute', task: 'fail', input: null })).toMatchObject({ ok: false, error: { code: 'E_TASK', message: 'the task refuses' } });
    expect(await cluster.ask(1, client, { op: 'compute', task: 'toString', input: null })).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_TASK } });
    // Files still need a disk.
    expect(await cluster.ask(1, client, { op: 'read', path: 'x' })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_DATA_DIR } });
  });

  it('without tasks, compute fails as on a node without a data directory', async () => {
    const cluster = await SimCluster.start({ behaviours, nodes: 1, seed: 2 });
    clusters.push(cluster);
    const client = cluster.spawn<IoRequest>(1, 'io-client');
    expect(await cluster.ask(1, client, { op: 'compute', task: 'square', input: 2 })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_DATA_DIR } });
  });
});
