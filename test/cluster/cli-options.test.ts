// `horde node` flags that set node options: --max-message-bytes and --data-dir.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type HordeNode } from '../../src/index.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually, startNodeProcess, stopNodeProcess, type NodeProcess } from '../support/cluster.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const processes: NodeProcess[] = [];
const nodes: HordeNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  await Promise.all(processes.splice(0).map((p) => stopNodeProcess(p)));
});

describe('horde node options', () => {
  it('refuses a --max-message-bytes the node option refuses, naming it', () => {
    const cli = spawnSync(process.execPath, ['dist/cli.js', 'node', '--name', 'tiny', '--listen', '127.0.0.1:0', '--insecure', '--max-message-bytes', '12'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain('maxMessageBytes');
  });

  it('runs a node with --max-message-bytes (a larger message from a peer is a dead letter there) and --data-dir (created)', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'horde-cli-')), 'data');
    const small = await startNodeProcess('cli-small', { spawn: ['echo:echo'], args: ['--max-message-bytes', '65536', '--data-dir', dataDir] });
    processes.push(small);
    expect(readdirSync(dataDir)).toEqual([]);
    const peer = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'cli-peer', secret: SECRET, seeds: [small.address] } });
    peer.on('clusterConnection', () => undefined);
    nodes.push(peer);
    await eventually(() => peer.whereis('echo') !== undefined, 20_000, 'the echo service is known');
    const echo = peer.whereis('echo')!;
    await expect(peer.ask(echo, 'x'.repeat(32 * 1024), { timeoutMs: 20_000 })).resolves.toHaveLength(32 * 1024);
    await expect(peer.ask(echo, 'y'.repeat(128 * 1024), { timeoutMs: 2_000 })).rejects.toMatchObject({ code: 'HORDE_TIMEOUT' });
  });
});

