// Real cluster servers over an in-memory network, on a manual clock and manual timers that only
// the test moves (the seams: ClusterSeams, src/internal/host.ts, src/net/transport.ts). They
// handshake, exchange messages and heartbeats; when the test cuts the link and moves the clock,
// the failure detector declares the peer down at the simulated time phi says, and once healed
// the redial brings it back. No real time passes: no sleeps, no real timers.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterServer, type ClusterHost, type MemberState } from '../../src/cluster/cluster.js';
import { resolveClusterOptions } from '../../src/cluster/options.js';
import { encodeEnvelopeToBytes, Signal, type Envelope } from '../../src/codec/envelope.js';
import { pid } from '../../src/process/pid.js';
import { ManualClock, ManualTimers } from '../support/manual-time.js';
import { MemoryNetwork } from '../support/memory-transport.js';
import { seededRandom } from '../support/seeded.js';
import { testClusterHost } from '../support/cluster-host.js';

const SECRET = 'cluster-seams-secret-0123456789';
const HEARTBEAT_MS = 200;

interface RecordingHost extends ClusterHost {
  delivered: number[];
  built: Envelope[];
}

function recordingHost(nodeId: number): RecordingHost {
  const delivered: number[] = [];
  const built: Envelope[] = [];
  const host = testClusterHost(nodeId, { raw: (_bytes, _offset, length) => delivered.push(length), built: (envelope) => built.push(envelope) });
  return Object.assign(host, { delivered, built });
}

interface World {
  network: MemoryNetwork;
  clock: ManualClock;
  timers: ManualTimers;
  servers: ClusterServer[];
  hosts: RecordingHost[];
  /** Member state changes as each server saw them, with the simulated time. */
  trace: string[];
  /** Moves simulated time forward by `ms`, delivering after every timer. */
  run(ms: number): Promise<void>;
  /** Bytes drawn from the seeded entropy seam (challenges, incarnation ids). */
  entropyBytes: number;
}

const started: ClusterServer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

/** Nodes `sim-1` .. `sim-N` at 10.0.0.1 .. 10.0.0.N:7000, each seeded with the first. */
async function world(nodes: number, seed: number): Promise<World> {
  const network = new MemoryNetwork();
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const random = seededRandom(seed);
  const w: World = { network, clock, timers, servers: [], hosts: [], trace: [], run: (ms) => timers.run(ms, () => network.settle()), entropyBytes: 0 };
  const entropy = (count: number): Uint8Array => {
    w.entropyBytes += count;
    return Uint8Array.from({ length: count }, () => Math.floor(random() * 256));
  };
  for (let i = 1; i <= nodes; i++) {
    const address = `10.0.0.${i}`;
    const options = resolveClusterOptions({ name: `sim-${i}`, nodeId: i, secret: SECRET, listen: { host: address, port: 7000 }, seeds: i === 1 ? [] : ['10.0.0.1:7000'], heartbeatMs: HEARTBEAT_MS });
    const host = recordingHost(i);
    const server = await ClusterServer.start(options, host, { clock, timers, random: { next: random }, entropy, transport: network.transport(address) });
    started.push(server);
    server.on('member', (event: { name: string; state: MemberState }) => w.trace.push(`${clock.monotonicMs()} sim-${i} sees ${event.name} ${event.state}`));
    w.servers.push(server);
    w.hosts.push(host);
  }
  await network.settle();
  return w;
}

function envelope(signal: Signal, to: number, from: number): Uint8Array {
  return encodeEnvelopeToBytes({ signal, to: pid(to, 0, 64), from: pid(from, 0, 64), ref: signal === Signal.MONITOR ? 7 : 0, payload: signal === Signal.USER ? 'hello' : undefined });
}

function view(server: ClusterServer, name: string): { state: MemberState; connected: boolean; phi: number; queuedBytes: number } {
  const member = server.members().find((m) => m.name === name);
  if (member === undefined) throw new Error(`${server.name} does not know ${name}`);
  return member;
}

describe('cluster servers over an in-memory transport on manual time', () => {
  it('draws incarnation ids and handshake challenges from the entropy seam: a seed gives the same ids', async () => {
    const first = await world(2, 5);
    const ids = first.servers.map((server) => server.incarnation);
    // Two incarnation ids of 8 bytes, and a 32-byte challenge from each side of the one connection at least.
    expect(first.entropyBytes).toBeGreaterThanOrEqual(2 * 8 + 2 * 32);
    expect(view(first.servers[0]!, 'sim-2').state).toBe('up');
    await Promise.all(started.splice(0).map((server) => server.stop()));
    const again = await world(2, 5);
    expect(again.servers.map((server) => server.incarnation)).toEqual(ids);
    const other = await world(2, 6);
    expect(other.servers.map((server) => server.incarnation)).not.toEqual(ids);
  });

  it('handshake, exchange messages, and declare a silent peer down when the test moves the clock', async () => {
    const realStart = performance.now();
    const w = await world(2, 1);
    const [a, b] = w.servers as [ClusterServer, ClusterServer];
    const [hostA, hostB] = w.hosts as [RecordingHost, RecordingHost];
    // The handshake and the Resume exchange happened with no time passing.
    expect(w.clock.monotonicMs()).toBe(0);
    expect(view(a, 'sim-2')).toMatchObject({ state: 'up', connected: true });
    expect(view(b, 'sim-1')).toMatchObject({ state: 'up', connected: true });

    // Messages both ways, acknowledged; a monitor from a process on sim-1 of one on sim-2.
    const toB = envelope(Signal.USER, 2, 1);
    const toA = envelope(Signal.USER, 1, 2);
    a.forward(toB, 0, toB.length);
    b.forward(toA, 0, toA.length);
    const monitor = envelope(Signal.MONITOR, 2, 1);
    a.forward(monitor, 0, monitor.length);
    await w.network.settle();
    expect(hostB.delivered).toEqual([toB.length + monitor.length]); // one batch, one run for shard 0
    expect(hostA.delivered).toEqual([toA.length]);
    expect(view(a, 'sim-2').queuedBytes).toBe(0);
    expect(view(b, 'sim-1').queuedBytes).toBe(0);

    // Ten simulated seconds of heartbeats: both stay up.
    expect(w.trace).toEqual(['0 sim-1 sees sim-2 up', '0 sim-2 sees sim-1 up']);
    await w.run(10_000);
    expect(view(a, 'sim-2')).toMatchObject({ state: 'up', connected: true });
    expect(view(a, 'sim-2').phi).toBeLessThan(1);
    expect(w.trace).toHaveLength(2);

    // The link goes silent (no reset, no close): only the failure detector can tell.
    const cutAt = w.clock.monotonicMs();
    w.network.cut('10.0.0.1', '10.0.0.2');
    await w.run(3_000);
    expect(view(a, 'sim-2').state).toBe('down');
    expect(view(b, 'sim-1').state).toBe('down');
    const downAt = Number(w.trace.find((line) => line.endsWith('sim-1 sees sim-2 down'))!.split(' ')[0]);
    const suspectAt = Number(w.trace.find((line) => line.endsWith('sim-1 sees sim-2 suspect'))!.split(' ')[0]);
    // phi-detector.ts: with 200 ms heartbeats, suspect (phi 3 here) before down, and down 1.52-1.72
    // s after the last heartbeat, on the first tick at or past it.
    expect(suspectAt).toBeLessThan(downAt);
    expect(downAt - cutAt).toBeGreaterThanOrEqual(1_500);
    expect(downAt - cutAt).toBeLessThanOrEqual(1_720 + HEARTBEAT_MS);
    // The monitor across the link fired 'noconnection' on sim-1.
    expect(hostA.built).toMatchObject([{ signal: Signal.DOWN, to: pid(1, 0, 64), from: pid(2, 0, 64), ref: 7, payload: 'noconnection' }]);

    // Healed: sim-1 (the smaller name) redials within its backoff, and the session starts afresh.
    w.network.heal();
    await w.run(5_000);
    expect(view(a, 'sim-2')).toMatchObject({ state: 'up', connected: true });
    expect(view(b, 'sim-1')).toMatchObject({ state: 'up', connected: true });
    const again = envelope(Signal.USER, 2, 1);
    a.forward(again, 0, again.length);
    await w.network.settle();
    expect(hostB.delivered).toEqual([toB.length + monitor.length, again.length]);

    // 18 simulated seconds; the real time is whatever the CPU took.
    expect(w.clock.monotonicMs()).toBe(18_000);
    expect(performance.now() - realStart).toBeLessThan(18_000);
  });

  it('closes a connection whose handshake stalls when the manual clock passes handshakeTimeoutMs', async () => {
    const w = await world(1, 7);
    const [a] = w.servers as [ClusterServer];
    // A stranger connects and never says Hello.
    const stranger = w.network.transport('10.0.0.9').dial({ host: '10.0.0.1', port: 7000 });
    let closed = false;
    stranger.on('close', () => (closed = true));
    await w.network.settle();
    await w.run(4_999);
    expect(closed).toBe(false);
    expect(a.status().closedConnections).toEqual({});
    await w.run(1);
    expect(closed).toBe(true);
    expect(a.status().closedConnections).toEqual({ HORDE_HANDSHAKE_FAILED: 1 });
  });

  it('replays: the same seed gives the same member states at the same simulated times, three nodes', async () => {
    const runOnce = async (): Promise<string[]> => {
      const w = await world(3, 42);
      await w.run(2_000);
      w.network.cut('10.0.0.3', '10.0.0.1');
      w.network.cut('10.0.0.3', '10.0.0.2');
      await w.run(4_000);
      w.network.heal();
      await w.run(6_000);
      for (const server of w.servers) {
        for (const member of server.members()) expect(member, `${server.name} sees ${member.name}`).toMatchObject({ state: 'up', connected: true });
      }
      const trace = [...w.trace];
      await Promise.all(started.splice(0).map((server) => server.stop()));
      return trace;
    };
    const first = await runOnce();
    // sim-1 and sim-2 see sim-3 go down, sim-3 sees both; then all four come back up.
    expect(first.filter((line) => line.endsWith(' down'))).toHaveLength(4);
    expect(first.filter((line) => line.includes('sim-3') && line.endsWith(' up'))).toHaveLength(8);
    expect(await runOnce()).toEqual(first);
  });
});
