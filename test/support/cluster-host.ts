// A ClusterHost for tests that run cluster servers without a node: one executor, rings that are
// never congested, and two hooks for what the server hands over (raw envelopes from peers, and
// envelopes it builds itself: DOWN and EXIT when a peer goes down).
import type { ClusterHost } from '../../src/cluster/cluster.js';
import type { Envelope } from '../../src/codec/envelope.js';

export function testClusterHost(
  nodeId: number,
  on: { raw: (bytes: Uint8Array, offset: number, length: number) => void; built: (envelope: Envelope) => void },
): ClusterHost {
  return {
    nodeId,
    executors: 1,
    maxEnvelopeBytes: 1 << 20,
    deliverRaw: on.raw,
    deliverEnvelope: on.built,
    ringsCongested: () => false,
    pauseRings: () => undefined,
    resumeRings: () => undefined,
    nodeCongested: () => undefined,
    deadLetters: () => undefined,
    report: () => undefined,
  };
}
