// Real node processes on loopback: joining through one seed, messages, asks and whereis across
// nodes, a node killed with SIGKILL, and exactly-once delivery across forced disconnects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { startNode, type DownNotice, type HordeNode } from '../../src/node/node.js';
import type { Pid } from '../../src/process/pid.js';
import { fetchClusterStatus } from '../../src/cluster/status-client.js';
import type { SinkMsg, SinkReport, SourceMsg } from '../fixtures/cluster-behaviours.js';
import type { CounterMsg, WatcherMsg } from '../fixtures/behaviours.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually, startNodeProcess, stopNodeProcess, type NodeProcess } from '../support/cluster.js';

let seed: NodeProcess;
let b: NodeProcess;
let victim: NodeProcess;
let tester: HordeNode;

beforeAll(async () => {
  seed = await startNodeProcess('alpha', { spawn: ['counter:alpha-counter', 'seq-sink:alpha-sink'] });
  [b, victim] = await Promise.all([
    startNodeProcess('bravo', { join: [seed.address], spawn: ['counter:bravo-counter', 'echo:bravo-echo'] }),
    startNodeProcess('charlie', { join: [seed.address], spawn: ['counter:victim-counter', 'where:victim-where'] }),
  ]);
  tester = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'tester', secret: SECRET, seeds: [seed.address] } });
  tester.on('clusterConnection', () => undefined);
  await eventually(() => tester.members().filter((m) => m.state === 'up').length === 3, 30_000, 'tester sees three members up');
});

afterAll(async () => {
  await tester?.stop();
  await Promise.all([seed, b, victim].filter((n) => n !== undefined).map(stopNodeProcess));
});

describe('a cluster of node processes', () => {
  it('joins transitively through one seed: every node meets every other', async () => {
    for (const node of [seed, b, victim]) {
      await eventually(async () => {
        const status = await fetchClusterStatus('127.0.0.1', node.port, SECRET);
        return status.members.filter((m) => m.state === 'up').length === 3;
      }, 30_000, `${node.name} sees all members`);
    }
    const status = await fetchClusterStatus('127.0.0.1', b.port, SECRET);
    expect(status.members.map((m) => m.name).sort()).toEqual(['alpha', 'charlie', 'tester']);
  });

  it('finds names registered on other nodes and sends and asks across nodes', async () => {
    await eventually(() => tester.whereis('bravo-counter') !== undefined && tester.whereis('alpha-counter') !== undefined, 10_000, 'names gossiped');
    const counter = tester.whereis<CounterMsg>('bravo-counter')!;
    expect(counter.node).not.toBe(tester.self.node);
    const before = await tester.ask<number>(counter, { type: 'get' });
    for (let i = 0; i < 100; i++) tester.send(counter, { type: 'inc', by: 2 });
    await expect(tester.ask(counter, { type: 'get' })).resolves.toBe(before + 200);
    const echo = tester.whereis('bravo-echo')!;
    await expect(tester.ask(echo, { nested: [1, 'two', { pid: counter }] })).resolves.toEqual({ nested: [1, 'two', { pid: counter }] });
    expect(tester.whereis('no-such-name')).toBeUndefined();
  });

  it('carries large messages (the bulk lane, in fragments) beside small ones', async () => {
    const echo = tester.whereis('bravo-echo')!;
    const big = { blob: 'b'.repeat(300_000) };
    const small = Array.from({ length: 50 }, (_, i) => tester.ask(echo, { i }));
    const [back, ...rest] = await Promise.all([tester.ask(echo, big), ...small]);
    expect(back).toEqual(big);
    expect(rest).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
  });

  it('replicates cluster metadata (last writer wins) to every member', async () => {
    tester.setMetadata('config', { version: 1 });
    tester.setMetadata('config', { version: 2 });
    for (const node of [seed, b]) {
      await eventually(async () => JSON.stringify((await fetchClusterStatus('127.0.0.1', node.port, SECRET)).metadata.config) === '{"version":2}', 10_000, `${node.name} has the metadata`);
    }
    expect(tester.getMetadata('config')).toEqual({ version: 2 });
  });

  it('delivers 100k sequenced messages exactly once and in order across repeated forced disconnects', async () => {
    const sink = tester.whereis<SinkMsg>('alpha-sink')!;
    const source = await tester.spawn<SourceMsg>('seq-source');
    const count = 100_000;
    await tester.ask(source, { type: 'run', to: sink, count, source: 'tester' });
    // Break the connections again and again while the stream is still being sent.
    let dropsMidStream = 0;
    for (let i = 0; i < 200 && (await tester.ask<number>(source, { type: 'sent' })) < count; i++) {
      tester.dropClusterConnections();
      dropsMidStream++;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(dropsMidStream).toBeGreaterThan(0);
    await eventually(async () => (await tester.ask<number>(source, { type: 'sent' })) === count, 60_000, 'source sent everything');
    let report: SinkReport | undefined;
    await eventually(async () => {
      report = await tester.ask<SinkReport>(sink, { type: 'report' }, { timeoutMs: 10_000 });
      return report.last.tester === count;
    }, 60_000, 'sink received everything');
    expect(report!.duplicates).toBe(0);
    expect(report!.gaps).toBe(0);
    expect(report!.received).toBe(count);
    const alpha = (await tester.status()).cluster!.members.find((m) => m.name === 'alpha')!;
    expect(alpha.state).toBe('up');
    process.stderr.write(`forced-disconnect run: ${dropsMidStream} drops mid-stream, ${alpha.resentBatches} batches resent\n`);
  });

  it('fires monitors and links and rejects pending asks when a node is killed with SIGKILL; the others keep working', async () => {
    const target = tester.whereis<CounterMsg>('victim-counter')!;
    const silent = tester.whereis<string>('victim-where')!;
    const monitored = new Promise<DownNotice>((resolve) => tester.monitor(target, resolve));
    const watcher = await tester.spawn<WatcherMsg>('watcher');
    tester.send(watcher, { type: 'trap' });
    tester.send(watcher, { type: 'watch', pid: target });
    tester.send(watcher, { type: 'link', pid: target });
    await expect(tester.ask(target, { type: 'get' })).resolves.toBeTypeOf('number');
    const pending = tester.ask(silent, 'ignore', { timeoutMs: 60_000 });
    victim.child.kill('SIGKILL');
    const started = Date.now();
    await expect(monitored).resolves.toEqual({ pid: target, reason: 'noconnection' });
    const error = await pending.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(HordeError);
    expect((error as HordeError).code).toBe(ErrorCode.NOPROC);
    expect(Date.now() - started).toBeLessThan(30_000);
    await eventually(async () => {
      const seen = await tester.ask<{ type: string; pid: Pid; reason: unknown }[]>(watcher, { type: 'seen' });
      return seen.some((s) => s.type === 'DOWN' && s.reason === 'noconnection') && seen.some((s) => s.type === 'EXIT' && s.reason === 'noconnection');
    }, 20_000, 'watcher got DOWN and EXIT noconnection');
    expect(tester.members().find((m) => m.name === 'charlie')!.state).toBe('down');
    // Its names stop resolving while it is down.
    expect(tester.whereis('victim-counter')).toBeUndefined();
    // A message to the dead node is a counted dead letter, not an exception.
    const before = (await tester.status()).deadLetters;
    tester.send(target, { type: 'inc' });
    await eventually(async () => (await tester.status()).deadLetters > before, 5000, 'dead letter counted');
    const survivor = tester.whereis<CounterMsg>('alpha-counter')!;
    await expect(tester.ask(survivor, { type: 'get' })).resolves.toBeTypeOf('number');
    const status = await fetchClusterStatus('127.0.0.1', b.port, SECRET);
    await eventually(async () => (await fetchClusterStatus('127.0.0.1', b.port, SECRET)).members.find((m) => m.name === 'charlie')?.state === 'down', 20_000, 'bravo sees charlie down');
    expect(status.name).toBe('bravo');
  });
});
