/**
 * ClusterState: what the nodes of a cluster replicate by gossip, over the CRDTs of this folder:
 * membership (an observed-remove set, membership.ts), the directory of business cards and
 * registered names (per-key versioned deltas, directory.ts) and the metadata map
 * (last-writer-wins registers under hybrid logical clock timestamps, lww-map.ts, hlc.ts).
 *
 * The cluster server calls it on the control lane. Every local change returns the gossip (a delta)
 * to send; merging a peer's gossip returns what was new: members to connect to, members that
 * left, and the delta to pass on (so a join through one member reaches all: joins are
 * transitive). A peer's gossip that is malformed or over a limit throws (HORDE_MALFORMED_FRAME,
 * HORDE_STATE_LIMIT, HORDE_CLOCK_DRIFT) and the connection that carried it is closed.
 *
 * A member's numeric node id (the `node` of its pids) travels in the membership entry's `nodeId`
 * string with its incarnation id: "<number>:<incarnation>".
 *
 * Wall-clock time (a member's start time, hybrid logical clock readings) comes from the Clock it is
 * given (src/internal/host.ts).
 */
import type { Clock } from '../internal/host.js';
import type { Pid } from '../process/pid.js';
import { Directory, DirectoryDelta } from './directory.js';
import { HybridClock } from './hlc.js';
import { LwwDelta, LwwMap } from './lww-map.js';
import { Membership, MembershipDelta, type Member } from './membership.js';
import type { JsonValue } from './wire-check.js';

export interface MemberInfo {
  name: string;
  nodeId: number;
  host: string;
  port: number;
  incarnation: string;
}

export interface Gossip {
  membership?: unknown;
  directory?: unknown;
  metadata?: unknown;
}

export interface MergeResult {
  members: MemberInfo[];
  left: string[];
  forward: Gossip | undefined;
}

function infoOf(member: Member): MemberInfo | undefined {
  const colon = member.nodeId.indexOf(':');
  const nodeId = Number(member.nodeId.slice(0, colon));
  if (colon < 0 || !Number.isInteger(nodeId) || nodeId < 1 || nodeId > 0xffff) return undefined;
  return { name: member.name, nodeId, host: member.host, port: member.port, incarnation: member.nodeId.slice(colon + 1) };
}

export class ClusterState {
  private membership: Membership | undefined;
  private self: Member | undefined;
  private directory: Directory | undefined;
  private readonly metadata = new LwwMap();
  private readonly hlc: HybridClock;

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
  ) {
    this.hlc = new HybridClock(name);
  }

  /** The local node joins (at start, once its port is known). */
  join(info: MemberInfo, executors: number): Gossip {
    const startedAt = this.clock.wallMs();
    this.self = { name: info.name, host: info.host, port: info.port, incarnation: startedAt, executors, nodeId: `${info.nodeId}:${info.incarnation}` };
    this.membership = new Membership({ name: info.name, incarnation: startedAt, nodeId: this.self.nodeId });
    this.directory = new Directory({ name: info.name, incarnation: startedAt });
    const card = this.directory.setCard({ address: `${info.host}:${info.port}`, executors });
    return { membership: this.membership.join(this.self).toWire(), directory: [card.toWire()] };
  }

  leave(): Gossip {
    return { membership: this.membership!.leave(this.name).toWire() };
  }

  fullState(): Gossip {
    return {
      membership: this.membership!.state().toWire(),
      directory: this.directory!.state().map((delta) => delta.toWire()),
      metadata: this.metadata.state().toWire(),
    };
  }

  merge(gossip: Gossip): MergeResult {
    const result: MergeResult = { members: [], left: [], forward: undefined };
    const forward: Gossip = {};
    if (gossip.membership !== undefined) {
      const delta = MembershipDelta.fromWire(gossip.membership);
      const changes = this.membership!.merge(delta);
      for (const member of changes.joined) {
        const info = member.name === this.name ? undefined : infoOf(member);
        if (info !== undefined) result.members.push(info);
      }
      for (const member of changes.left) {
        if (member.name === this.name) continue;
        if (this.membership!.member(member.name) === undefined) {
          result.left.push(member.name);
          this.directory!.removeNode(member.name);
        }
      }
      if (changes.joined.length > 0 || changes.left.length > 0) {
        forward.membership = (changes.delta === undefined ? delta : MembershipDelta.join(delta, changes.delta)).toWire();
      } else if (changes.delta !== undefined) forward.membership = changes.delta.toWire();
    }
    if (Array.isArray(gossip.directory)) {
      const applied = (gossip.directory as unknown[]).map((wire) => DirectoryDelta.fromWire(wire)).filter((delta) => delta.node !== this.name && this.directory!.apply(delta));
      if (applied.length > 0) forward.directory = applied.map((delta) => delta.toWire());
    }
    if (gossip.metadata !== undefined) {
      const delta = LwwDelta.fromWire(gossip.metadata);
      const latest = delta.latest;
      if (latest !== undefined) this.hlc.receive(latest, this.clock.wallMs());
      if (this.metadata.merge(delta).length > 0) forward.metadata = gossip.metadata;
    }
    if (Object.keys(forward).length > 0) result.forward = forward;
    return result;
  }

  setName(name: string, pid: Pid | undefined): Gossip {
    return { directory: [this.directory!.setName(this.name, name, pid).toWire()] };
  }

  /** Every node that has `name` registered, with the pid, sorted by node name. */
  whereisAll(name: string): [node: string, pid: Pid][] {
    return this.directory?.whereisAll(name) ?? [];
  }

  /** Forgets a node's card (it left or was declared down): its names stop resolving. */
  removeNode(name: string): void {
    this.directory?.removeNode(name);
  }

  setMetadata(key: string, value: JsonValue): Gossip {
    return { metadata: this.metadata.set(key, value, this.hlc.now(this.clock.wallMs())).toWire() };
  }

  getMetadata(key: string): JsonValue | undefined {
    return this.metadata.get(key);
  }

  metadataEntries(): Record<string, unknown> {
    return Object.fromEntries(this.metadata.entries());
  }
}
