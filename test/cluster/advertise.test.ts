// The address a node tells its peers: a node listening on every interface (0.0.0.0, ::) gossips
// its `advertise` address, which a third node that only heard of it by gossip dials; without
// `advertise` such a node is refused, by startNode and by `horde node`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startNode } from '../../src/node/node.js';
import type { CounterMsg } from '../fixtures/behaviours.js';
import { clusterTestNodes } from '../support/nodes.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually, secretFile } from '../support/cluster.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const { node } = clusterTestNodes();

describe('advertise', () => {
  it('refuses a wildcard listen address without advertise, naming --advertise', async () => {
    for (const host of ['0.0.0.0', '::']) {
      const start = startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'wild', secret: SECRET, listen: { host } } });
      await expect(start).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION', message: expect.stringContaining('--advertise') as unknown });
    }
    await expect(
      startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'wild', secret: SECRET, listen: { host: '0.0.0.0' }, advertise: '0.0.0.0:7400' } }),
    ).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION', message: expect.stringContaining('cluster.advertise') as unknown });
    const cli = spawnSync(process.execPath, ['dist/cli.js', 'node', '--name', 'wild', '--listen', '0.0.0.0:0', '--secret-file', secretFile(), '--module', CLUSTER_MODULES[0]!.href], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain('--advertise');
  });

  it('gossips the advertised address, which a node that only heard of it by gossip dials', async () => {
    // zulu listens on every interface and advertises loopback (port 0: the port it listens on).
    const zulu = await node({ name: 'zulu', secret: SECRET, listen: { host: '0.0.0.0', port: 0 }, advertise: '127.0.0.1:0' });
    expect(zulu.clusterAddress.host).toBe('127.0.0.1');
    expect(zulu.clusterAddress.port).toBeGreaterThan(0);
    const advertised = `127.0.0.1:${zulu.clusterAddress.port}`;
    const mike = await node({ name: 'mike', secret: SECRET, seeds: [advertised] });
    await eventually(() => mike.members().some((m) => m.name === 'zulu' && m.connected), 20_000, 'mike joined zulu');
    // alpha knows only mike; it learns zulu's address from mike's gossip and, as the node with the
    // smaller name, dials it.
    const alpha = await node({ name: 'alpha', secret: SECRET, seeds: [`127.0.0.1:${mike.clusterAddress.port}`] });
    await eventually(() => alpha.members().some((m) => m.name === 'zulu' && m.connected && m.state === 'up'), 20_000, 'alpha connected to zulu');
    for (const viewer of [mike, alpha]) {
      const seen = viewer.members().find((m) => m.name === 'zulu')!;
      expect({ host: seen.host, port: seen.port }).toEqual({ host: '127.0.0.1', port: zulu.clusterAddress.port });
    }
    zulu.register('zulu-counter', await zulu.spawn<CounterMsg>('counter'));
    await eventually(() => alpha.whereis('zulu-counter') !== undefined, 10_000, 'name gossiped');
    const counter = alpha.whereis<CounterMsg>('zulu-counter')!;
    alpha.send(counter, { type: 'inc', by: 5 });
    await expect(alpha.ask(counter, { type: 'get' })).resolves.toBe(5);
  });
});
