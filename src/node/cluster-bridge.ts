/**
 * ClusterBridge: what the node does with its ClusterServer (src/cluster), when it has `cluster`
 * options. Envelopes for another node's pid reach the main thread's endpoint like any other; the
 * bridge hands their bytes to the cluster server undecoded (`forwardRemote`), or, standalone,
 * answers them as missing ('noconnection'). Envelopes from peers go into the rings as they came
 * (`deliverFromPeer`): to an executor's ring, decoded for the main thread's participant, or
 * answered as missing ('noproc') for a shard this node does not have. It also sets the shared
 * NodePressure when the cluster reports a congested peer, and answers the node's questions about
 * the cluster (status, names, members).
 *
 * The one place a ClusterServer is made is `startClusterServer` below.
 *
 * Runs on the main thread's event loop, like the cluster server itself.
 */

import { ErrorCode, HordeError } from '../errors.js';
import { decodeEnvelope, type Envelope } from '../codec/envelope.js';
import { countEnvelopes, forEachEnvelope, shardAt } from '../codec/envelope-header.js';
import { ClusterServer, type ClusterHost, type ClusterStatus } from '../cluster/cluster.js';
import type { ResolvedClusterOptions } from '../cluster/options.js';
import type { NodePressure } from '../internal/node-pressure.js';
import type { AsyncEndpoint } from '../participant/async-endpoint.js';
import { mainIndex, participantOfShard } from '../participant/participants.js';
import type { Pid } from '../process/pid.js';
import type { MainParticipant } from './main-participant.js';
import type { ResolvedOptions } from './options.js';
import type { Topology } from './topology.js';

/** Starts the cluster server of a node: the one place one is constructed. */
export function startClusterServer(options: ResolvedClusterOptions, host: ClusterHost): Promise<ClusterServer> {
  return ClusterServer.start(options, host);
}

/** What the bridge needs from its node. */
export interface ClusterBridgeHost {
  readonly options: ResolvedOptions;
  readonly topology: Topology;
  /** The main thread's rings. */
  readonly endpoint: AsyncEndpoint;
  /** The main thread's participant: envelopes for it, and answers for senders. */
  readonly main: MainParticipant;
  /** Which peers are congested, shared with the executors. */
  readonly nodePressure: NodePressure;
  deadLetters(count: number): void;
  malformed(error: unknown): void;
  report(event: 'clusterConnection' | 'clusterMember', detail: unknown): void;
}

export class ClusterBridge {
  private readonly host: ClusterBridgeHost;
  private server: ClusterServer | undefined;

  constructor(host: ClusterBridgeHost) {
    this.host = host;
  }

  /** Starts the cluster server when the node has cluster options. */
  async start(): Promise<void> {
    const options = this.host.options.cluster;
    if (options !== undefined) this.server = await startClusterServer(options, this.clusterHost());
  }

  /** True when the cluster server runs. */
  get clustered(): boolean {
    return this.server !== undefined;
  }

  /** The cluster server; throws HORDE_NOT_CLUSTERED when standalone. */
  cluster(): ClusterServer {
    if (this.server === undefined) throw new HordeError(ErrorCode.NOT_CLUSTERED, 'this node was started without cluster options');
    return this.server;
  }

  /** Envelope bytes for a peer's process (the main thread's own, or answers it makes). */
  forward(bytes: Uint8Array, offset: number, length: number): void {
    this.server!.forward(bytes, offset, length);
  }

  /** Envelope bytes for another node, from an executor's ring (`run`: several for one node). */
  forwardRemote(bytes: Uint8Array, offset: number, length: number, run: boolean): void {
    if (this.server !== undefined) {
      this.server.forward(bytes, offset, length, run);
      return;
    }
    // Not clustered: nothing can reach another node.
    if (run) this.host.deadLetters(countEnvelopes(bytes.subarray(offset, offset + length)));
    else this.host.main.answerMissingAt(bytes, offset, 'noconnection');
  }

  /** The main thread's rings drained: the cluster server reads again. */
  ringsDrained(): void {
    this.server?.ringsDrained();
  }

  /** Publishes (or, with undefined, removes) a registered name in the cluster's directory. */
  setName(name: string, target: Pid | undefined): void {
    this.server?.setName(name, target);
  }

  /** The pid registered under `name` on any member, if clustered. */
  whereis(name: string): Pid | undefined {
    return this.server?.whereis(name);
  }

  /** The cluster server's view (undefined standalone). */
  status(): ClusterStatus | undefined {
    return this.server?.status();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /**
   * Envelope bytes from a cluster peer (one envelope, or with `run` several for one shard): into
   * the executor's ring as they are; decoded here when they are for the main thread; answered as
   * missing ('noproc', see answerToMissing) for a shard this node does not have. A run only goes
   * to an executor whole: returns false, having done nothing, for a run that is not for an executor.
   */
  private deliverFromPeer(bytes: Uint8Array, offset: number, length: number, run: boolean): boolean {
    const { endpoint, main } = this.host;
    const shards = this.host.options.executors;
    const mainAt = mainIndex(shards);
    const index = participantOfShard(shardAt(bytes, offset), shards);
    if (run) {
      // Only executors read runs.
      if (index === undefined || index >= shards) return false;
      endpoint.sendBytes(index, bytes, offset, length, true);
      return true;
    }
    if (index !== undefined && index !== mainAt) {
      endpoint.sendBytes(index, bytes, offset, length);
      return true;
    }
    if (index !== mainAt) {
      main.answerMissingAt(bytes, offset, 'noproc');
      return true;
    }
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes, offset, length);
    } catch (error) {
      this.host.malformed(error);
      return true;
    }
    main.onEnvelope(envelope);
    return true;
  }

  private clusterHost(): ClusterHost {
    const host = this.host;
    const options = host.options;
    return {
      nodeId: options.nodeId,
      executors: options.executors,
      maxEnvelopeBytes: options.maxMessageBytes,
      deliverRaw: (bytes: Uint8Array, offset: number, length: number, run: boolean): void => {
        if (this.deliverFromPeer(bytes, offset, length, run)) return;
        forEachEnvelope(bytes.subarray(offset, offset + length), (at, envelopeLength) => this.deliverFromPeer(bytes, offset + at, envelopeLength, false));
      },
      deliverEnvelope: (envelope: Envelope): void => host.main.deliverAnswer(envelope),
      ringsCongested: (): boolean => host.endpoint.congested,
      pauseRings: (): void => host.endpoint.pause(),
      nodeCongested: (nodeId: number, congested: boolean): void => {
        if (!host.nodePressure.set(nodeId, congested) || congested) return;
        // Parked executors look at the pressure when they wake.
        for (let shard = 0; shard < options.executors; shard++) host.topology.bells[shard]!.ring();
      },
      resumeRings: (): void => host.endpoint.resume(),
      deadLetters: (count: number): void => host.deadLetters(count),
      report: (event: 'clusterConnection' | 'clusterMember', detail: unknown): void => host.report(event, detail),
    };
  }
}
