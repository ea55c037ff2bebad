/**
 * A local cluster for the load test: `nodes` processes of `horde node` on loopback (this package's
 * dist/cli.js), each with the benchmark service registered, a gateway, and a stats line a second;
 * and the LoadTarget that drives them: requests spread round-robin over one client connection per
 * gateway, samples from the nodes' latest stats lines, throttling switched through their stdin.
 * Every child is killed (SIGTERM, then SIGKILL after 10 s) by `stop`, and if it outlives a start
 * that failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ErrorCode, HordeError } from '../errors.js';
import { workerEntry } from '../internal/worker-url.js';
import { connect, type GatewayClient } from '../gateway/client.js';
import type { GatewayStatus } from '../gateway/gateway.js';
import { BENCH_SERVICE_KIND, BENCH_SERVICE_MODULE, BENCH_SERVICE_NAME } from './service.js';
import type { LoadTarget, TargetSample } from './types.js';

// Always the built CLI (also when this module runs from src/ under tsx).
const CLI = fileURLToPath(workerEntry(import.meta.url, '../cli.js'));
const START_TIMEOUT_MS = 30_000;

interface NodeChild {
  name: string;
  child: ChildProcess;
  gateway: { host: string; port: number };
  /** The node's cluster address, "host:port". */
  address: string;
  latest: { eventLoopDelayP99Ms: number; rssBytes: number; heapUsedBytes: number; gateway?: GatewayStatus } | undefined;
  exited: Promise<void>;
}

export interface LocalCluster {
  readonly gateways: { host: string; port: number }[];
  target(options: { costUs: number; timeoutMs?: number }): Promise<LoadTarget & { close(): Promise<void> }>;
  stop(): Promise<void>;
}

function startChild(name: string, secretFile: string, join: string | undefined): Promise<NodeChild> {
  const args = [CLI, 'node', '--name', name, '--listen', '127.0.0.1:0', '--secret-file', secretFile, '--executors', '1', '--module', BENCH_SERVICE_MODULE.href];
  args.push('--spawn', `${BENCH_SERVICE_KIND}:${BENCH_SERVICE_NAME}-${name}`, '--gateway', '127.0.0.1:0', '--stats-ms', '500');
  if (join !== undefined) args.push('--join', join);
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<NodeChild>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new HordeError(ErrorCode.TIMEOUT, `load-test node ${name} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new HordeError(ErrorCode.WORKER_START_FAILED, `load-test node ${name} exited before it was ready`));
    });
    let node: NodeChild | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        process.stderr.write(`[loadtest] ${name}: not JSON (${String(error)}): ${line}\n`);
        return;
      }
      if (event.event === 'ready' && node === undefined) {
        clearTimeout(timer);
        node = { name, child, gateway: event.gateway as { host: string; port: number }, address: `${String(event.host)}:${String(event.port)}`, latest: undefined, exited };
        resolve(node);
      } else if (event.event === 'stats' && node !== undefined) {
        node.latest = event as unknown as NodeChild['latest'];
      }
    });
  });
}

async function stopChild(node: NodeChild): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
  await node.exited;
  clearTimeout(timer);
}

export async function startLocalCluster(count: number): Promise<LocalCluster> {
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new HordeError(ErrorCode.INVALID_OPTION, `option "nodes" must be an integer from 1 to 16; got ${String(count)}`);
  const dir = mkdtempSync(join(tmpdir(), 'horde-loadtest-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const nodes: NodeChild[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const seed = await startChild('lt-1', secretFile, undefined);
    nodes.push(seed);
    for (let i = 2; i <= count; i++) nodes.push(await startChild(`lt-${i}`, secretFile, seed.address));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    gateways: nodes.map((node) => node.gateway),
    target: (options) => clusterTarget(nodes, options),
    stop,
  };
}

async function clusterTarget(nodes: NodeChild[], options: { costUs: number; timeoutMs?: number }): Promise<LoadTarget & { close(): Promise<void> }> {
  const clients: { client: GatewayClient; service: string }[] = [];
  for (const node of nodes) clients.push({ client: await connect(node.gateway), service: `${BENCH_SERVICE_NAME}-${node.name}` });
  let next = 0;
  const message = { costUs: options.costUs };
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    request: () => {
      const { client, service } = clients[next++ % clients.length]!;
      return client.request(service, message, { timeoutMs });
    },
    sample: (): Promise<TargetSample> =>
      Promise.resolve({
        gateways: nodes.map((node) => ({
          name: node.name,
          throttled: node.latest?.gateway?.throttled ?? false,
          canaryP99Ms: node.latest?.gateway?.canaryP99Ms ?? 0,
          idleCanaryP99Ms: node.latest?.gateway?.idleCanaryP99Ms,
        })),
        nodes: nodes.map((node) => ({
          name: node.name,
          eventLoopDelayP99Ms: node.latest?.eventLoopDelayP99Ms ?? 0,
          rssBytes: node.latest?.rssBytes ?? 0,
          heapUsedBytes: node.latest?.heapUsedBytes ?? 0,
        })),
      }),
    setThrottling: async (enabled: boolean): Promise<void> => {
      for (const node of nodes) node.child.stdin!.write(`${JSON.stringify({ cmd: 'throttling', enabled })}\n`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    close: async (): Promise<void> => {
      await Promise.all(clients.map(({ client }) => client.close()));
    },
  };
}
