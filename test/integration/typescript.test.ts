// TypeScript behaviour and compute modules in a node's workers with no preload: the node registers
// the application's tsx in every worker that loads user modules (executors, the compute pool).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode } from '../../src/node/node.js';
import type { IoRequest } from '../../src/process/io.js';
import type { CounterMsg } from '../fixtures/behaviours.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const computeModule = new URL('../fixtures/compute.ts', import.meta.url);
let dataDir = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'horde-typescript-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('TypeScript modules in workers', () => {
  it('loads .ts behaviour and compute modules with no preload', async () => {
    const node = await startNode({ behaviours: [behaviours], computeModules: [computeModule], computeThreads: 1, executors: 2, dataDir });
    try {
      const counter = await node.spawn<CounterMsg>('counter', undefined, { shard: 1 });
      node.send(counter, { type: 'inc', by: 4 });
      await expect(node.ask(counter, { type: 'get' })).resolves.toBe(4);
      const client = await node.spawn<IoRequest>('io-client');
      await expect(node.ask(client, { op: 'compute', task: 'square', input: 9 })).resolves.toMatchObject({ ok: true, value: 81 });
    } finally {
      await node.stop();
    }
  });

  it("with typescript: 'off' and no loader, the executor's error names the module and the cause", async () => {
    const start = startNode({ behaviours: [behaviours], executors: 1, typescript: 'off' });
    await expect(start).rejects.toMatchObject({ code: 'HORDE_WORKER_START_FAILED', message: expect.stringMatching(/behaviours\.ts.*Unknown file extension/) as unknown });
  });
});
