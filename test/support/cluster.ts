// Starting real `horde node` processes (dist/cli.js) on loopback for the cluster tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SECRET = 'cluster-test-secret-0123456789';
const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLUSTER_MODULES = [new URL('../fixtures/behaviours.ts', import.meta.url), new URL('../fixtures/cluster-behaviours.ts', import.meta.url)];
export const PRELOAD = new URL('./register-tsx.mjs', import.meta.url);

export interface NodeProcess {
  name: string;
  port: number;
  address: string;
  child: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
  /** Where `/metrics` listens (the ready line's `metrics`, with --metrics). */
  metrics?: { host: string; port: number };
}

export function secretFile(secret = SECRET): string {
  const dir = mkdtempSync(join(tmpdir(), 'horde-secret-'));
  const file = join(dir, 'secret');
  writeFileSync(file, secret, { mode: 0o600 });
  return file;
}

/** Starts `horde node` and resolves once it printed its ready line (rejects if it exits first). */
export function startNodeProcess(name: string, options: { join?: string[]; spawn?: string[]; secretFile?: string; heartbeatMs?: number; args?: string[] } = {}): Promise<NodeProcess> {
  const args = ['dist/cli.js', 'node', '--name', name, '--listen', '127.0.0.1:0', '--secret-file', options.secretFile ?? secretFile(), '--executors', '1', '--preload', PRELOAD.href];
  for (const module of CLUSTER_MODULES) args.push('--module', module.href);
  for (const seed of options.join ?? []) args.push('--join', seed);
  for (const spec of options.spawn ?? []) args.push('--spawn', spec);
  if (options.heartbeatMs !== undefined) args.push('--heartbeat-ms', String(options.heartbeatMs));
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise<NodeProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${name} did not start within 30 s: ${stderr.join('\n')}`));
    }, 30_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited with ${String(code)} before it was ready: ${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; port?: number; metrics?: { host: string; port: number } };
      if (event.event !== 'ready' || event.port === undefined) return;
      clearTimeout(timer);
      resolve({ name, port: event.port, address: `127.0.0.1:${event.port}`, child, stderr, exited, metrics: event.metrics });
    });
  });
}

/** SIGTERM (graceful), then SIGKILL after 10 s. */
export async function stopNodeProcess(node: NodeProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
  await node.exited;
  clearTimeout(timer);
}

/** Polls `check` every 25 ms until it holds; fails after `ms`. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
