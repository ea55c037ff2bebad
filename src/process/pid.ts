/**
 * Pid: the address of a process, a plain serializable value (it travels inside messages, across
 * threads and nodes, like a RethinkDB mailbox address).
 *
 * Compact numeric form, used for routing: `node` (u16, the node's number in its cluster; 0 is the
 * local node until the cluster assigns numbers), `shard` (u16, the executor that owns the process;
 * MAIN_SHARD, POLLER_SHARD and FILEIO_SHARD for the endpoints of the node's other threads), `serial` (a safe integer unique within the shard,
 * never reused). A pid's shard is a field, so any thread routes without a lookup. Names are for
 * people and the registry (`register`/`whereis`), never for routing.
 *
 * Serials are allocated without coordination: `serial = counter * SPAWNER_SPACE + spawnerId`, where
 * every allocator (each executor incarnation, the main thread) holds its own spawnerId. An
 * executor's replacement gets a fresh spawnerId, so pids of the processes it lost are never
 * reused (old messages to them become dead letters, not deliveries to strangers).
 *
 * The type parameter `M` is the message type the process accepts; it exists only at compile time.
 * `send(to, msg)` infers `M` from the pid alone (`NoInfer` on the message), so a message the
 * process does not accept is a compile error; any pid widens to `Pid` (= `Pid<unknown>`).
 */

export const MAIN_SHARD = 0xffff;
/** The poller worker's endpoint (timers). */
export const POLLER_SHARD = 0xfffe;
/** The file I/O worker's endpoint (files, the durable log, compute). */
export const FILEIO_SHARD = 0xfffd;
export const MAX_SHARDS = 0xfff0;
export const SPAWNER_SPACE = 1 << 16;

declare const acceptsBrand: unique symbol;

export interface Pid<M = unknown> {
  readonly node: number;
  readonly shard: number;
  readonly serial: number;
  /** Compile-time only: the messages this process accepts. */
  readonly [acceptsBrand]?: M;
}

/** The message type a pid accepts. */
export type MessageOf<P> = P extends Pid<infer M> ? M : never;

export function pid<M = unknown>(node: number, shard: number, serial: number): Pid<M> {
  return { node, shard, serial };
}

export function isPid(value: unknown): value is Pid {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v.node) &&
    Number.isInteger(v.shard) &&
    Number.isSafeInteger(v.serial) &&
    (v.node as number) >= 0 &&
    (v.node as number) <= 0xffff &&
    (v.shard as number) >= 0 &&
    (v.shard as number) <= 0xffff &&
    (v.serial as number) >= 0
  );
}

export function samePid(a: Pid, b: Pid): boolean {
  return a.serial === b.serial && a.shard === b.shard && a.node === b.node;
}

/** A string key for maps, unique across the cluster: "node.shard.serial". */
export function pidKey(p: Pid): string {
  return `${p.node}.${p.shard}.${p.serial}`;
}

/** Erlang-style text form for logs and errors: `<node.shard.serial>`. */
export function formatPid(p: Pid): string {
  return `<${p.node}.${p.shard}.${p.serial}>`;
}

/**
 * The allocator that made `serial` (its spawnerId). With `serialIndex`, a one-to-one split of any
 * serial: the process table pages processes by (stream, index), since one allocator's serials
 * arrive at a shard in increasing index order.
 */
export function serialStream(serial: number): number {
  return serial % SPAWNER_SPACE;
}

/** The allocator's counter of `serial` (see serialStream). */
export function serialIndex(serial: number): number {
  return Math.floor(serial / SPAWNER_SPACE);
}

/** The serial of (stream, index): the inverse of serialStream and serialIndex. */
export function serialFromParts(stream: number, index: number): number {
  return index * SPAWNER_SPACE + stream;
}

/** Allocates serials for one spawner (an executor incarnation or the main thread). */
export class SerialAllocator {
  private counter = 0;

  constructor(readonly spawnerId: number) {}

  next(): number {
    this.counter++;
    return this.counter * SPAWNER_SPACE + this.spawnerId;
  }
}
