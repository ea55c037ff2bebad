/**
 * The MainHost a simulated node gives its main-thread participant: the same `MainParticipant`
 * (src/node/main-participant.ts) that HordeNode drives over its rings, driven here over the node's
 * TestKit channels, its simulated clock and its cluster server. So a SimCluster's asks take the
 * production path: a MONITOR and the message under one ref, the answer or a DOWN settling it, a
 * timeout on the node's own (pausable, skewable) clock, HORDE_OVERLOADED for a congested node.
 *
 * Single-threaded, like everything in the simulator: the participant runs inside scheduler events.
 */

import type { ClusterServer } from '../../cluster/cluster.js';
import type { HostTimer, MainHost } from '../../node/main-participant.js';
import type { TestKit } from '../testkit.js';
import type { SimNodeTime } from './node-time.js';

/** What the host reaches of its simulated node (one incarnation of it). */
export interface SimMainNode {
  readonly nodeId: number;
  readonly shards: number;
  readonly kit: TestKit;
  readonly time: SimNodeTime;
  server(): ClusterServer | undefined;
  /** The node of this incarnation is running. */
  running(): boolean;
  /** The node has work: schedule its next step. */
  wake(): void;
  /** Runs `task` as the node's next event (paused with the node). */
  defer(task: () => void): void;
  deadLetters(count: number): void;
}

/** The largest envelope the simulated main thread sends to another node (production's default maxMessageBytes). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function simMainHost(node: SimMainNode): MainHost {
  return {
    nodeId: node.nodeId,
    executors: node.shards,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    now: () => node.kit.now,
    startTimer(ms: number, fire: () => void): HostTimer {
      const handle = node.time.timeout(fire, ms);
      return { cancel: () => node.time.clear(handle) };
    },
    defer: (task) => node.defer(task),
    send(_index, envelope) {
      if (!node.running()) return true;
      const { signal, to, from, ref, payload } = envelope;
      const accepted = node.kit.fromMain({ signal, to, from, ref, payload });
      node.wake();
      return accepted;
    },
    clustered: () => true,
    forward(bytes, offset, length) {
      if (node.running()) node.server()?.forward(bytes, offset, length);
    },
    nodeCongested: (nodeId) => node.kit.isNodeCongested(nodeId),
    deadLetters: (count) => node.deadLetters(count),
    running: () => node.running(),
  };
}
