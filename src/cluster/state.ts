/**
 * ClusterState: what the nodes of a cluster replicate by gossip: membership, the directory of
 * registered names, and the metadata map. The cluster server calls it on the control lane; every
 * change returns the gossip (a delta) to send, and merging a peer's gossip returns what was new
 * (members to connect to, members that left, and the delta to pass on so joins are transitive).
 */
import { isPid, type Pid } from '../process/pid.js';

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

interface MemberEntry {
  info: MemberInfo;
  left: boolean;
}

interface NameEntry {
  node: string;
  version: number;
  pid: Pid | undefined;
}

interface MetaEntry {
  ts: number;
  node: string;
  value: unknown;
}

export class ClusterState {
  private readonly members = new Map<string, MemberEntry>();
  private readonly names = new Map<string, NameEntry>();
  private readonly meta = new Map<string, MetaEntry>();
  private nameVersion = 0;

  constructor(private readonly self: string) {}

  join(info: MemberInfo): Gossip {
    this.members.set(info.name, { info, left: false });
    return { membership: [{ ...info, left: false }] };
  }

  leave(): Gossip {
    const entry = this.members.get(this.self);
    if (entry !== undefined) entry.left = true;
    return { membership: entry === undefined ? [] : [{ ...entry.info, left: true }] };
  }

  fullState(): Gossip {
    return {
      membership: [...this.members.values()].map((entry) => ({ ...entry.info, left: entry.left })),
      directory: [...this.names.entries()].map(([name, entry]) => ({ name, ...entry })),
      metadata: [...this.meta.entries()].map(([key, entry]) => ({ key, ...entry })),
    };
  }

  merge(gossip: Gossip): MergeResult {
    const result: MergeResult = { members: [], left: [], forward: undefined };
    const forward: Gossip = {};
    if (Array.isArray(gossip.membership)) {
      const changed: unknown[] = [];
      for (const item of gossip.membership as unknown[]) {
        const info = memberOf(item);
        if (info === undefined || info.name === this.self) continue;
        const left = (item as { left?: unknown }).left === true;
        const known = this.members.get(info.name);
        if (known !== undefined && known.info.incarnation === info.incarnation && known.left === left) continue;
        if (known !== undefined && known.left && known.info.incarnation === info.incarnation) continue;
        this.members.set(info.name, { info, left });
        changed.push(item);
        if (left) result.left.push(info.name);
        else result.members.push(info);
      }
      if (changed.length > 0) forward.membership = changed;
    }
    if (Array.isArray(gossip.directory)) {
      const changed: unknown[] = [];
      for (const item of gossip.directory as unknown[]) {
        if (typeof item !== 'object' || item === null) continue;
        const { name, node, version, pid } = item as Record<string, unknown>;
        if (typeof name !== 'string' || typeof node !== 'string' || typeof version !== 'number' || (pid !== undefined && pid !== null && !isPid(pid))) continue;
        if (node === this.self) continue;
        const known = this.names.get(name);
        if (known !== undefined && known.node === node && known.version >= version) continue;
        if (known !== undefined && known.node !== node && known.pid !== undefined && known.node < node) continue;
        this.names.set(name, { node, version, pid: isPid(pid) ? pid : undefined });
        changed.push(item);
      }
      if (changed.length > 0) forward.directory = changed;
    }
    if (Array.isArray(gossip.metadata)) {
      const changed: unknown[] = [];
      for (const item of gossip.metadata as unknown[]) {
        if (typeof item !== 'object' || item === null) continue;
        const { key, ts, node, value } = item as Record<string, unknown>;
        if (typeof key !== 'string' || typeof ts !== 'number' || typeof node !== 'string') continue;
        const known = this.meta.get(key);
        if (known !== undefined && (known.ts > ts || (known.ts === ts && known.node >= node))) continue;
        this.meta.set(key, { ts, node, value });
        changed.push(item);
      }
      if (changed.length > 0) forward.metadata = changed;
    }
    if (Object.keys(forward).length > 0) result.forward = forward;
    return result;
  }

  setName(name: string, pid: Pid | undefined): Gossip {
    const entry = { node: this.self, version: ++this.nameVersion, pid };
    this.names.set(name, entry);
    return { directory: [{ name, ...entry }] };
  }

  whereis(name: string): Pid | undefined {
    const entry = this.names.get(name);
    if (entry === undefined || entry.pid === undefined) return undefined;
    const member = this.members.get(entry.node);
    return member === undefined || member.left ? undefined : entry.pid;
  }

  setMetadata(key: string, value: unknown, ts: number): Gossip {
    const known = this.meta.get(key);
    const stamp = known !== undefined && known.ts >= ts ? known.ts + 1 : ts;
    const entry = { ts: stamp, node: this.self, value };
    this.meta.set(key, entry);
    return { metadata: [{ key, ...entry }] };
  }

  getMetadata(key: string): unknown {
    return this.meta.get(key)?.value;
  }

  metadataEntries(): Record<string, unknown> {
    return Object.fromEntries([...this.meta.entries()].map(([key, entry]) => [key, entry.value]));
  }
}

function memberOf(item: unknown): MemberInfo | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { name, nodeId, host, port, incarnation } = item as Record<string, unknown>;
  if (typeof name !== 'string' || typeof nodeId !== 'number' || typeof host !== 'string' || typeof port !== 'number' || typeof incarnation !== 'string') return undefined;
  return { name, nodeId, host, port, incarnation };
}
