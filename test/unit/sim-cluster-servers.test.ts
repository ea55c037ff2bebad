// Real cluster servers (sessions, acknowledgements, resends, membership, failure detection) over
// the simulated network, each node on its own simulated clock, one seeded generator for the run:
// messages cross a partition that heals before the failure detector gives up exactly once and in
// order; a longer one brings nodes down with 'noconnection'; a paused node's peers declare it
// down; and a seed replays its run event for event.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterServer, type ClusterHost, type MemberState } from '../../src/cluster/cluster.js';
import { resolveClusterOptions } from '../../src/cluster/options.js';
import { decodeEnvelope, encodeEnvelopeToBytes, Signal, type Envelope } from '../../src/codec/envelope.js';
import { walkEnvelopes } from '../../src/codec/envelope-header.js';
import { pid } from '../../src/process/pid.js';
import { SimNetwork, SimNodeTime, SimScheduler } from '../../src/index.js';
import { testClusterHost } from '../support/cluster-host.js';

const SECRET = 'sim-cluster-secret-0123456789';

interface Node {
  name: string;
  server: ClusterServer;
  time: SimNodeTime;
  /** USER payloads delivered to this node, in order. */
  received: unknown[];
  /** Envelopes its cluster server built (DOWN, EXIT when a peer goes down). */
  built: Envelope[];
}

interface Run {
  scheduler: SimScheduler;
  network: SimNetwork;
  nodes: Node[];
  /** Member state changes with the simulated time. */
  events: string[];
}

const servers: ClusterServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function host(nodeId: number, node: Pick<Node, 'received' | 'built'>): ClusterHost {
  return testClusterHost(nodeId, {
    raw: (bytes, offset, length) => {
      walkEnvelopes(bytes, offset, offset + length, (b, at, n) => {
        const envelope = decodeEnvelope(b, at, n);
        if (envelope.signal === Signal.USER) node.received.push(envelope.payload);
      });
    },
    built: (envelope) => node.built.push(envelope),
  });
}

/** Nodes n1..nN at 10.0.0.i:7000, every one seeded with n1, on one seeded run. */
async function simulate(count: number, seed: number): Promise<Run> {
  const scheduler = new SimScheduler(seed);
  const network = new SimNetwork(scheduler, { latency: { baseMs: 0.2, jitterMs: 0.3 } });
  const run: Run = { scheduler, network, nodes: [], events: [] };
  for (let i = 1; i <= count; i++) {
    const name = `n${i}`;
    const address = `10.0.0.${i}`;
    const time = new SimNodeTime(scheduler, address);
    const partial = { received: [] as unknown[], built: [] as Envelope[] };
    const options = resolveClusterOptions({ name, nodeId: i, secret: SECRET, listen: { host: address, port: 7000 }, seeds: i === 1 ? [] : ['10.0.0.1:7000'], heartbeatMs: 100 });
    const server = await ClusterServer.start(options, host(i, partial), { clock: time, timers: time, random: scheduler.random, transport: network.transport(address) });
    servers.push(server);
    server.on('member', (event: { name: string; state: MemberState }) => run.events.push(`${scheduler.now.toFixed(3)} ${name} sees ${event.name} ${event.state}`));
    run.nodes.push({ name, server, time, ...partial });
  }
  await scheduler.run({ until: () => allUp(run), maxEvents: 100_000 });
  return run;
}

function allUp(run: Run): boolean {
  return run.nodes.every((node) => node.server.members().length === run.nodes.length - 1 && node.server.members().every((m) => m.state === 'up' && m.connected));
}

function send(from: number, to: number, server: ClusterServer, payload: unknown, signal: Signal = Signal.USER, ref = 0): void {
  const bytes = encodeEnvelopeToBytes({ signal, to: pid(to, 0, 64), from: pid(from, 0, 64), ref, payload });
  server.forward(bytes, 0, bytes.length);
}

function state(node: Node, peer: string): MemberState | undefined {
  return node.server.members().find((m) => m.name === peer)?.state;
}

describe('real cluster servers in a simulated run', () => {
  it('delivers across a partition that heals before the failure detector gives up: once each, in order', async () => {
    const run = await simulate(3, 17);
    const [n1, n2] = run.nodes as [Node, Node, Node];
    const { scheduler, network } = run;
    for (let i = 0; i < 100; i++) send(1, 2, n1.server, `m${i}`);
    network.partition(['10.0.0.1'], ['10.0.0.2']);
    for (let i = 100; i < 200; i++) send(1, 2, n1.server, `m${i}`);
    await scheduler.run({ untilMs: scheduler.now + 300 });
    expect(state(n1, 'n2')).not.toBe('down');
    network.heal();
    for (let i = 200; i < 300; i++) send(1, 2, n1.server, `m${i}`);
    await scheduler.run({ untilMs: scheduler.now + 2_000 });
    expect(n2.received).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    expect(run.events.filter((line) => line.endsWith(' down'))).toEqual([]);
  });

  it('brings both sides down after a long partition (a monitor gets noconnection), and back up when healed', async () => {
    const run = await simulate(2, 5);
    const [n1, n2] = run.nodes as [Node, Node];
    const { scheduler, network } = run;
    send(1, 2, n1.server, undefined, Signal.MONITOR, 9);
    await scheduler.run({ untilMs: scheduler.now + 50 });
    network.partition(['10.0.0.1'], ['10.0.0.2']);
    await scheduler.run({ untilMs: scheduler.now + 3_000 });
    expect(state(n1, 'n2')).toBe('down');
    expect(state(n2, 'n1')).toBe('down');
    expect(n1.built).toMatchObject([{ signal: Signal.DOWN, to: pid(1, 0, 64), from: pid(2, 0, 64), ref: 9, payload: 'noconnection' }]);
    network.heal();
    await scheduler.run({ until: () => allUp(run), maxEvents: 200_000 });
    send(1, 2, n1.server, 'after');
    await scheduler.run({ untilMs: scheduler.now + 100 });
    expect(n2.received).toEqual(['after']);
  });

  it('declares a paused node down on its peers; once resumed, its overdue timers fire and it comes back', async () => {
    const run = await simulate(2, 8);
    const [n1, n2] = run.nodes as [Node, Node];
    const { scheduler } = run;
    scheduler.pause('10.0.0.2');
    await scheduler.run({ untilMs: scheduler.now + 3_000 });
    expect(state(n1, 'n2')).toBe('down');
    expect(state(n2, 'n1')).toBe('up'); // it ran nothing meanwhile
    scheduler.resume('10.0.0.2');
    await scheduler.run({ until: () => allUp(run), maxEvents: 200_000 });
    expect(state(n1, 'n2')).toBe('up');
  });

  it('replays a seed event for event; another seed runs differently', async () => {
    const once = async (seed: number): Promise<{ hash: string; events: string[]; now: number }> => {
      const run = await simulate(3, seed);
      const [n1, , n3] = run.nodes as [Node, Node, Node];
      for (let i = 0; i < 50; i++) send(1, 3, n1.server, i);
      await run.scheduler.run({ untilMs: run.scheduler.now + 20 });
      run.network.partition(['10.0.0.3'], ['10.0.0.1', '10.0.0.2']);
      await run.scheduler.run({ untilMs: run.scheduler.now + 3_000 });
      run.network.heal();
      await run.scheduler.run({ untilMs: run.scheduler.now + 3_000 });
      expect(n3.received).toEqual(Array.from({ length: 50 }, (_, i) => i));
      const result = { hash: run.scheduler.trace.hex(), events: [...run.events], now: run.scheduler.now };
      await Promise.all(servers.splice(0).map((server) => server.stop()));
      return result;
    };
    const first = await once(31);
    expect(first.events.filter((line) => line.endsWith(' down')).length).toBeGreaterThanOrEqual(2);
    expect(await once(31)).toEqual(first);
    expect((await once(32)).hash).not.toBe(first.hash);
  });
});
