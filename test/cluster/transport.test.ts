// Mutual TLS between nodes, a node whose certificate the cluster's CA did not sign, and seeds
// given as DNS names.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startNode } from '../../src/node/node.js';
import type { CounterMsg, WatcherMsg } from '../fixtures/behaviours.js';
import { pid } from '../../src/process/pid.js';
import { clusterTestNodes } from '../support/nodes.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually } from '../support/cluster.js';

const tlsFile = (name: string): Buffer => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const trusted = { key: tlsFile('node.key'), cert: tlsFile('node.pem'), ca: tlsFile('ca.pem') };
const rogue = { key: tlsFile('rogue.key'), cert: tlsFile('rogue.pem'), ca: tlsFile('rogue-ca.pem') };

const { node, nodes } = clusterTestNodes();

describe('cluster transport', () => {
  it('runs over mutual TLS and refuses a node whose certificate the CA did not sign', async () => {
    const a = await node({ name: 'tls-a', secret: SECRET, tls: trusted });
    const seed = `127.0.0.1:${a.clusterAddress.port}`;
    const b = await node({ name: 'tls-b', secret: SECRET, tls: trusted, seeds: [seed] });
    await eventually(() => a.members().some((m) => m.name === 'tls-b' && m.connected), 20_000, 'TLS members connected');
    const counter = await a.spawn<CounterMsg>('counter');
    b.send(counter, { type: 'inc', by: 7 });
    await expect(b.ask(counter, { type: 'get' })).resolves.toBe(7);
    const intruder = await node({ name: 'tls-rogue', secret: SECRET, tls: rogue, seeds: [seed] });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(a.members().map((m) => m.name)).not.toContain('tls-rogue');
    expect(intruder.members().filter((m) => m.connected)).toEqual([]);
  });

  it('joins through a seed given as a DNS name', async () => {
    const a = await node({ name: 'dns-a', secret: SECRET });
    const b = await node({ name: 'dns-b', secret: SECRET, seeds: [`localhost:${a.clusterAddress.port}`] });
    await eventually(() => b.members().some((m) => m.name === 'dns-a' && m.connected), 20_000, 'joined through localhost');
    expect(a.members().map((m) => m.name)).toEqual(['dns-b']);
  });

  it('refuses to start without a secret unless insecure on loopback', async () => {
    await expect(startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'x' } })).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION' });
    await expect(
      startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'x', insecure: true, listen: { host: '0.0.0.0' } } }),
    ).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION' });
    const open = await node({ name: 'loopback-only', insecure: true });
    expect(open.clusterAddress.port).toBeGreaterThan(0);
  });
});

describe('an executor crash next to a cluster', () => {
  it('fires only the monitors and asks on its own node\'s shard, not a peer\'s shard of the same number', async () => {
    const a = await node({ name: 'crash-a', secret: SECRET });
    a.on('executorCrashed', () => undefined);
    const b = await node({ name: 'crash-b', secret: SECRET, seeds: [`127.0.0.1:${a.clusterAddress.port}`] });
    await eventually(() => a.members().some((m) => m.name === 'crash-b' && m.connected), 20_000, 'b connected');
    // Both nodes have one executor: b's process sits on shard 0, like the one that dies on a.
    const remote = await b.spawn<CounterMsg>('counter');
    const silent = await b.spawn<string>('where');
    const downs: unknown[] = [];
    a.monitor(remote, (notice) => downs.push(notice.reason));
    const pending = a.ask(silent, 'ignore', { timeoutMs: 60_000 }).then(
      () => 'answered',
      (error: { code?: string }) => error.code,
    );
    await expect(a.ask(remote, { type: 'get' })).resolves.toBe(0);
    const local = await a.spawn<string>('where');
    const localDowns: unknown[] = [];
    a.monitor(local, (notice) => localDowns.push(notice.reason));
    a.send(local, 'exit-thread');
    await eventually(async () => localDowns.length > 0 && (await a.status()).executorRestarts === 1, 20_000, 'a replaced its executor');
    expect(localDowns).toEqual(['executor_crashed']);
    b.send(remote, { type: 'inc', by: 3 });
    await expect(a.ask(remote, { type: 'get' })).resolves.toBe(3);
    expect(downs).toEqual([]);
    b.exit(silent, 'kill');
    await expect(pending).resolves.toBe('HORDE_NOPROC');
  });
});

describe('membership over time', () => {
  it('sees a restarted node as a new incarnation, and a node that leaves as left', async () => {
    const a = await node({ name: 'life-a', secret: SECRET, heartbeatMs: 50 });
    const seed = `127.0.0.1:${a.clusterAddress.port}`;
    const first = await node({ name: 'life-b', secret: SECRET, seeds: [seed], heartbeatMs: 50 });
    await eventually(() => a.members().some((m) => m.name === 'life-b' && m.connected), 20_000, 'b up');
    const before = a.members().find((m) => m.name === 'life-b')!.incarnation;
    const counter = await first.spawn<CounterMsg>('counter');
    const down = new Promise((resolve) => a.monitor(counter, resolve));
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);
    const second = await node({ name: 'life-b', secret: SECRET, seeds: [seed], heartbeatMs: 50 });
    await expect(down).resolves.toMatchObject({ reason: 'noconnection' });
    await eventually(() => a.members().some((m) => m.name === 'life-b' && m.connected && m.incarnation !== before), 20_000, 'new incarnation up');
    const fresh = await second.spawn<CounterMsg>('counter');
    await expect(a.ask(fresh, { type: 'get' })).resolves.toBe(0);
    second.leave();
    await eventually(() => a.members().find((m) => m.name === 'life-b')?.state === 'left', 20_000, 'b left');
  });
});

describe('a signal for a process that is not there, from a peer', () => {
  it('answers a peer\'s LINK and MONITOR to a shard this node lacks with noproc from the missing pid, and a dead letter for a message', async () => {
    const a = await node({ name: 'missing-a', secret: SECRET });
    const b = await node({ name: 'missing-b', secret: SECRET, seeds: [`127.0.0.1:${a.clusterAddress.port}`] });
    await eventually(() => a.members().some((m) => m.name === 'missing-b' && m.connected), 20_000, 'b connected');
    const watcher = await a.spawn<WatcherMsg>('watcher');
    const remote = await b.spawn<CounterMsg>('counter');
    // b has one executor: shard 7 does not exist there.
    const missing = pid(remote.node, 7, 12345);
    a.send(watcher, { type: 'trap' });
    a.send(watcher, { type: 'watch', pid: missing });
    a.send(watcher, { type: 'link', pid: missing });
    const before = (await b.status()).deadLetters;
    a.send(missing, 'lost');
    await eventually(async () => (await a.ask<unknown[]>(watcher, { type: 'seen' })).length === 2, 20_000, 'both answers');
    const seen = await a.ask<{ type: string; pid: unknown; reason: unknown }[]>(watcher, { type: 'seen' });
    expect(seen.map((s) => s.type).sort()).toEqual(['DOWN', 'EXIT']);
    for (const notice of seen) expect(notice).toMatchObject({ pid: missing, reason: 'noproc' });
    await eventually(async () => (await b.status()).deadLetters === before + 1, 20_000, 'the message counted as a dead letter');
  });
});

describe('the watchdog on a clustered node', () => {
  it('names the slow process with its own node number', async () => {
    const a = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, longReceiveMs: 50, cluster: { name: 'watchdog-a', secret: SECRET, nodeId: 42 } });
    nodes.push(a);
    const reports: { pid: { node: number; shard: number; serial: number }; kind?: string }[] = [];
    a.on('longReceive', (detail: (typeof reports)[number]) => reports.push(detail));
    const slow = await a.spawn<string>('where');
    await a.ask(slow, 'spin');
    await eventually(() => reports.length > 0, 20_000, 'a long receive reported');
    expect(reports[0]).toMatchObject({ pid: slow, kind: 'where' });
  });
});
