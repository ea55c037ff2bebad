/**
 * System `beam` of the `cluster` suite: Erlang distribution between two BEAM nodes on loopback
 * (bench/erlang/distbench.erl), each `erl -noshell +S 2:2`, like two horde nodes on the 2-core
 * machine.
 *
 * Needs `erl`, `erlc` and `epmd` on PATH (Debian: `apt-get install erlang-base`); without them,
 * runBeam prints a note on stderr and reports nothing. With them:
 * 1. compiles distbench.erl into a temporary directory (also the nodes' cwd, so nothing lands in
 *    the repository; crash dumps are off);
 * 2. starts a private epmd on a free loopback port (ERL_EPMD_PORT for both nodes, `-start_epmd
 *    false`), so no daemon outlives the run and other BEAMs on the machine do not matter;
 * 3. starts node `b@127.0.0.1` (the sink) and waits for its `ready`, then node `a@127.0.0.1` (the
 *    driver) with the cases, a fresh random cookie for both, distribution on 127.0.0.1 only;
 * 4. checks and reports the driver's round lines (RoundCollector).
 * Every child (epmd, both nodes) has a time limit and is killed in a `finally` whatever happens.
 * Should this process itself be killed, the nodes still end by themselves (the driver when its
 * cases are done or a reply is 60 s late, the sink after 60 s idle) and a watchdog ends epmd.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoundCollector, type ClusterBenchOptions, type ClusterCase } from './cluster-cases.js';
import { findOnPath } from './savina-beam.js';
import { BoundedChild, describeExit, guardOrphan } from './support/child.js';
import type { Report } from './support/report.js';

const DISTBENCH_ERL = fileURLToPath(new URL('./erlang/distbench.erl', import.meta.url));

const ERLC_TIMEOUT_MS = 60_000;
/** The whole driver run: about 10 s for the default cases on the 2-core machine. */
const NODE_TIMEOUT_MS = 180_000;
/** epmd lives a little longer than the nodes, which need it until they stop. */
const EPMD_TIMEOUT_MS = NODE_TIMEOUT_MS + 30_000;
const READY_TIMEOUT_MS = 30_000;
/** After the driver has exited: how long the sink may take to halt by itself before it is killed. */
const SINK_GRACE_MS = 5_000;
const SCHEDULERS = 2;

function note(text: string): void {
  process.stderr.write(`[cluster] beam ${text}\n`);
}

/** A port that was free a moment ago (the usual race: it is taken again right away, by epmd). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))));
  if (address === null || typeof address === 'string') throw new Error('cluster beam: no port for epmd');
  return address.port;
}

/** NAMES_REQ of epmd's protocol (length 1, 'n'): epmd answers with its port, then closes. */
const EPMD_NAMES_REQ = Buffer.from([0, 1, 110]);

/** Whether an epmd answers on `port` (a real request: a bare connect makes epmd log a partial packet). */
function epmdAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const settle = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1_000, () => settle(false));
    socket.once('connect', () => socket.write(EPMD_NAMES_REQ));
    socket.once('data', (data: Buffer) => settle(data.length >= 4 && data.readUInt32BE(0) === port));
    socket.once('error', () => settle(false));
    socket.once('close', () => settle(false));
  });
}

/** Waits (up to 10 s) until epmd accepts connections. */
async function waitForEpmd(port: number, epmd: BoundedChild): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await epmdAnswers(port)) return;
    const exited = await Promise.race([epmd.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]);
    if (exited !== undefined) throw new Error(`cluster beam: epmd exited (${describeExit(exited)})`);
  }
  throw new Error(`cluster beam: epmd not listening on port ${port} after 10 s`);
}

/** `oneway-64B:1000000:200000:3`, a case as distbench.erl takes it. */
function erlangSpec(c: ClusterCase): string {
  for (const value of [c.count, c.warmup, c.rounds]) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`cluster beam: ${c.name}: counts and rounds must be positive integers`);
  }
  return `${c.name}:${c.count}:${c.warmup}:${c.rounds}`;
}

/** Runs the BEAM side of the cases and reports it; a note and nothing else when Erlang is not installed. */
export async function runBeam(report: Report, options: ClusterBenchOptions): Promise<void> {
  if (options.cases.length === 0) return;
  const erl = findOnPath('erl');
  const erlc = findOnPath('erlc');
  const epmdPath = findOnPath('epmd');
  if (erl === undefined || erlc === undefined || epmdPath === undefined) {
    note('skipped: erl, erlc or epmd not installed (apt-get install erlang-base)');
    return;
  }
  const specs = options.cases.map(erlangSpec);
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'horde-cluster-beam-'));
  const children: BoundedChild[] = [];
  try {
    const erlcRun = new BoundedChild(erlc, ['-o', dir, DISTBENCH_ERL], { name: '[cluster] beam erlc', timeoutMs: ERLC_TIMEOUT_MS, cwd: dir });
    children.push(erlcRun);
    const compiled = await erlcRun.exited;
    if (compiled.code !== 0) throw new Error(`cluster beam: erlc failed (${describeExit(compiled)})`);

    const port = await freePort();
    const epmd = new BoundedChild(epmdPath, ['-port', String(port), '-address', '127.0.0.1'], {
      name: '[cluster] beam epmd',
      timeoutMs: EPMD_TIMEOUT_MS,
      cwd: dir,
    });
    children.push(epmd);
    // epmd never exits by itself: if this process dies, the watchdog ends it.
    children.push(guardOrphan(epmd, EPMD_TIMEOUT_MS, '[cluster] beam epmd guard'));
    await waitForEpmd(port, epmd);

    const env = { ...process.env, ERL_EPMD_PORT: String(port), ERL_CRASH_DUMP_SECONDS: '0' };
    const cookie = randomBytes(16).toString('hex');
    const nodeArgs = (name: string): string[] => [
      '-name',
      name,
      '-setcookie',
      cookie,
      '-noshell',
      '-start_epmd',
      'false',
      '-kernel',
      'inet_dist_use_interface',
      '{127,0,0,1}',
      '+S',
      `${SCHEDULERS}:${SCHEDULERS}`,
      '-pa',
      dir,
    ];
    const sink = new BoundedChild(erl, [...nodeArgs('b@127.0.0.1'), '-run', 'distbench', 'sink'], {
      name: '[cluster] beam b',
      timeoutMs: NODE_TIMEOUT_MS,
      cwd: dir,
      env,
    });
    children.push(sink);
    const ready = await sink.lineWithin(READY_TIMEOUT_MS, 'ready');
    if (ready !== 'ready') throw new Error(`cluster beam: the sink said ${JSON.stringify(ready)} instead of ready`);

    note(`erl ${nodeArgs('a@127.0.0.1').join(' ').replace(cookie, 'COOKIE')} -run distbench run b@127.0.0.1 ${specs.join(' ')}`);
    const driver = new BoundedChild(erl, [...nodeArgs('a@127.0.0.1'), '-run', 'distbench', 'run', 'b@127.0.0.1', ...specs], {
      name: '[cluster] beam a',
      timeoutMs: NODE_TIMEOUT_MS,
      cwd: dir,
      env,
    });
    children.push(driver);
    const collector = new RoundCollector('beam', options, report);
    for (let line = await driver.nextLine(); line !== undefined; line = await driver.nextLine()) {
      if (line.trim() === '') continue;
      note(collector.add(line).replace(/^beam /, ''));
    }
    const driverExit = await driver.exited;
    if (driverExit.code !== 0) throw new Error(`cluster beam: the driver node failed (${describeExit(driverExit)})`);
    const sinkExit = await sink.stopAfter(SINK_GRACE_MS);
    if (sinkExit.code !== 0) throw new Error(`cluster beam: the sink node did not halt cleanly (${describeExit(sinkExit)})`);
    collector.finish();
  } finally {
    // Nodes first, then epmd; a child that has exited already is left alone.
    for (const child of children.reverse()) await child.stop();
    await rm(dir, { recursive: true, force: true });
  }
  note(`done in ${((performance.now() - started) / 1e3).toFixed(1)} s`);
}
