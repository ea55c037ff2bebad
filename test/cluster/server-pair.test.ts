// Two cluster servers on loopback with hosts that record what reaches them (no executors): the
// congestion bit across a reconnect, and an envelope larger than the receiver takes (its
// maxMessageBytes), in a batch it keeps and in one larger than its batches may be.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterServer, type ClusterHost } from '../../src/cluster/cluster.js';
import { resolveClusterOptions } from '../../src/cluster/options.js';
import { encodeEnvelopeToBytes, Signal } from '../../src/codec/envelope.js';
import { pid } from '../../src/process/pid.js';
import { eventually } from '../support/cluster.js';

interface RecordingHost extends ClusterHost {
  congestion: Map<number, boolean>;
  delivered: number[];
  dead: number;
}

function recordingHost(nodeId: number, maxEnvelopeBytes: number, onDeliver?: () => void): RecordingHost {
  const host: RecordingHost = {
    nodeId,
    executors: 1,
    maxEnvelopeBytes,
    congestion: new Map(),
    delivered: [],
    dead: 0,
    deliverRaw: (_bytes, _offset, length) => {
      host.delivered.push(length);
      onDeliver?.();
    },
    deliverEnvelope: () => undefined,
    ringsCongested: () => false,
    pauseRings: () => undefined,
    resumeRings: () => undefined,
    nodeCongested: (node, congested) => host.congestion.set(node, congested),
    deadLetters: (count) => {
      host.dead += count;
    },
    report: () => undefined,
  };
  return host;
}

const SECRET = 'server-pair-secret-0123456789abcdef';
const servers: ClusterServer[] = [];

async function pair(options: { batchBytes?: number; maxPendingBytes?: number }, hostA: RecordingHost, hostB: RecordingHost): Promise<{ a: ClusterServer; b: ClusterServer }> {
  const common = { secret: SECRET, host: '127.0.0.1', port: 0, heartbeatMs: 100, reconnectMinMs: 20, reconnectMaxMs: 100, ...options };
  const a = await ClusterServer.start(resolveClusterOptions({ ...common, name: 'pair-a', nodeId: hostA.nodeId }), hostA);
  servers.push(a);
  const b = await ClusterServer.start(resolveClusterOptions({ ...common, name: 'pair-b', nodeId: hostB.nodeId, seeds: [`127.0.0.1:${a.address.port}`] }), hostB);
  servers.push(b);
  await eventually(() => a.members().some((m) => m.name === 'pair-b' && m.connected), 10_000, 'a and b connected');
  return { a, b };
}

function envelopeTo(node: number, payloadBytes: number): Uint8Array {
  return encodeEnvelopeToBytes({ signal: Signal.USER, to: pid(node, 0, 64), from: pid(1, 0, 64), ref: 0, payload: 'x'.repeat(payloadBytes) });
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe('two cluster servers', () => {
  it('clears a peer\'s congestion when a reconnect finds its in-flight batch delivered', async () => {
    const hostA = recordingHost(1, 1 << 19);
    const started: { b?: ClusterServer } = {};
    let cut = false;
    // The connection breaks right after b took the batch, before its ack could leave.
    const hostB = recordingHost(2, 1 << 19, () => {
      if (cut) return;
      cut = true;
      started.b!.dropConnections();
    });
    const servers = await pair({ batchBytes: 4096, maxPendingBytes: 4096 }, hostA, hostB);
    started.b = servers.b;
    const bytes = envelopeTo(2, 5000);
    servers.a.forward(bytes, 0, bytes.length);
    expect(hostA.congestion.get(2)).toBe(true);
    await eventually(() => cut && servers.a.members().some((m) => m.name === 'pair-b' && m.connected && m.queuedBytes === 0), 10_000, 'reconnected with nothing queued');
    expect(hostB.delivered).toEqual([bytes.length]);
    await eventually(() => hostA.congestion.get(2) === false, 5_000, 'congestion cleared');
  });

  for (const batchBytes of [undefined, 4096]) {
    it(`counts an envelope larger than the receiver takes as a dead letter and goes on (batchBytes ${batchBytes ?? 'default'})`, async () => {
      const hostA = recordingHost(1, 1 << 19);
      const hostB = recordingHost(2, 4096);
      // With 4 KiB batches the receiver's batch limit is 5 KiB: the batch of the 10 KB envelope
      // is dropped fragment by fragment, yet acknowledged (not resent for ever).
      const { a } = await pair(batchBytes === undefined ? {} : { batchBytes }, hostA, hostB);
      const large = envelopeTo(2, 10_000);
      const small = envelopeTo(2, 10);
      a.forward(large, 0, large.length);
      a.forward(small, 0, small.length);
      await eventually(() => hostB.delivered.length > 0, 10_000, 'the small envelope delivered');
      expect(hostB.delivered).toEqual([small.length]);
      expect(hostB.dead).toBe(1);
      const peer = a.members().find((m) => m.name === 'pair-b')!;
      expect(peer.connected).toBe(true);
      await eventually(() => a.members().find((m) => m.name === 'pair-b')!.queuedBytes === 0, 10_000, 'both acknowledged');
      expect(a.members().find((m) => m.name === 'pair-b')!.resentBatches).toBe(0);
    });
  }
});
