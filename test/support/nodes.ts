// Real nodes for integration tests: one data directory per test file (removed after it), and
// every node a test started stopped after that test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startNode, type HordeNode, type NodeOptions } from '../../src/index.js';
import { CLUSTER_MODULES, PRELOAD } from './cluster.js';

/**
 * Registers the hooks and returns `node(options)`, startNode with `defaults`, the data directory
 * and `options`, and `dataDir()`, that directory.
 */
export function testNodes(
  prefix: string,
  defaults: Partial<NodeOptions>,
): { node: (options?: Partial<NodeOptions>) => Promise<HordeNode>; dataDir: () => string } {
  const nodes: HordeNode[] = [];
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
  const node = async (options: Partial<NodeOptions> = {}): Promise<HordeNode> => {
    const started = await startNode({ ...defaults, dataDir, ...options });
    nodes.push(started);
    return started;
  };
  return { node, dataDir: () => dataDir };
}

/**
 * Registers the hook and returns `node(cluster)`, a one-executor node with the cluster test
 * behaviours joined to `cluster`, and `nodes`, those still to be stopped after the test (a test
 * that stops one itself takes it out).
 */
export function clusterTestNodes(): { node: (cluster: NodeOptions['cluster']) => Promise<HordeNode>; nodes: HordeNode[] } {
  const nodes: HordeNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
  const node = async (cluster: NodeOptions['cluster']): Promise<HordeNode> => {
    const started = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster });
    started.on('clusterConnection', () => undefined);
    nodes.push(started);
    return started;
  };
  return { node, nodes };
}
