/**
 * Pid: the address of a process, a plain serializable value (it travels inside messages, across
 * threads and nodes, like a RethinkDB mailbox address).
 *
 * Compact numeric form, used for routing: `node` (u16, the node's number in its cluster; 0 is the
 * local node until the cluster assigns numbers), `shard` (u16, the executor that owns the process;
 * MAIN_SHARD for the main thread's endpoint, and the numbers from MAX_SHARDS up for the service
 * threads' (src/process/services.ts)), `serial` (a safe integer unique within the shard, never
 * reused). A pid's shard is a field, so any thread routes without a lookup. Names are for
 * people and the registry (`register`/`whereis`), never for routing.
 *
 * Serials are allocated without coordination: every allocator (each executor incarnation, the main
 * thread) holds its own spawnerId and counts, and the serial packs both. An executor's replacement
 * gets a fresh spawnerId, so pids of the processes it lost are never reused (old messages to them
 * become dead letters, not deliveries to strangers). The spawnerId sits in the low bits so that
 * serials stay small integers (V8 Smis: no heap number per pid, per process, per map key) for as
 * long as possible:
 * - spawnerId < SHORT_SPAWNERS (63): `serial = counter * 64 + spawnerId`, Smi for the first 2^24
 *   spawns of that allocator, safe up to 2^47;
 * - larger ids (many executors, or many replacements): `serial = (counter * 2^16 + (spawnerId -
 *   63)) * 64 + 63`, safe up to 2^31 spawns; ids up to 63 + 2^16 - 1.
 * Both forms are one to one (serialStream/serialIndex give back the spawnerId and counter); an
 * allocator that would pass a safe integer throws HORDE_SERIALS_EXHAUSTED instead of reusing.
 *
 * The type parameter `M` is the message type the process accepts; it exists only at compile time.
 * `send(to, msg)` infers `M` from the pid alone (`NoInfer` on the message), so a message the
 * process does not accept is a compile error; any pid widens to `Pid` (= `Pid<unknown>`).
 */

import { ErrorCode, HordeError } from '../errors.js';

/** The shard of the node's main thread (0xffff): `node.self` lives there; no executor has this number. */
export const MAIN_SHARD = 0xffff;
/** Executor shards are below this; the numbers from here to MAIN_SHARD are the service threads' (services.ts). */
export const MAX_SHARDS = 0xfff0;
/** The main thread's allocator (executor incarnations take 1, 2, ... in start order). */
export const MAIN_SPAWNER = 0;
/** SpawnerIds below this are in the low 6 bits of a serial; 63 tags the long form. */
export const SHORT_SPAWNERS = 63;
const SHORT_SPACE = 64;
/** Ids of the long form: 63 .. 63 + LONG_SPAWNERS - 1. */
const LONG_SPAWNERS = 1 << 16;
export const MAX_SPAWNER_ID = SHORT_SPAWNERS + LONG_SPAWNERS - 1;
/** `serial === (serial & SMALL_SERIAL)` holds exactly for integers 0 ..SMALL_SERIAL (bit operations are exact on them). */
const SMALL_SERIAL = 0x7fffffff;

declare const acceptsBrand: unique symbol;

/**
 * The address of a process: a plain `{node, shard, serial}` value that can travel inside messages,
 * across threads and nodes. Compare pids with `samePid`, not `===`. `M` is the message type the
 * process accepts (compile time only).
 */
export interface Pid<M = unknown> {
  /** The node's number in its cluster (option `nodeId`, 1..65535); 0 on a node without a cluster. */
  readonly node: number;
  /** The executor that owns the process (0-based), or MAIN_SHARD and the other threads' endpoints. */
  readonly shard: number;
  /** A non-negative safe integer, never reused on its shard while the node runs (a restarted node starts over). */
  readonly serial: number;
  /** Compile-time only: the messages this process accepts. */
  readonly [acceptsBrand]?: M;
}

/** The message type a pid accepts. */
export type MessageOf<P> = P extends Pid<infer M> ? M : never;

export function pid<M = unknown>(node: number, shard: number, serial: number): Pid<M> {
  return { node, shard, serial };
}

/** True when `value` has the shape of a pid (u16 node and shard, non-negative safe integer serial): for checking what arrives in messages. */
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

/** True when `a` and `b` address the same process (pids are values: two copies are not `===`). */
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
  // Small integers take bit operations (a `%` on a number V8 cannot prove integral is a C call).
  if (serial === (serial & SMALL_SERIAL)) {
    const low = serial & (SHORT_SPACE - 1);
    return low < SHORT_SPAWNERS ? low : SHORT_SPAWNERS + ((serial >> 6) & (LONG_SPAWNERS - 1));
  }
  const low = serial % SHORT_SPACE;
  if (low < SHORT_SPAWNERS) return low;
  return SHORT_SPAWNERS + (Math.floor(serial / SHORT_SPACE) % LONG_SPAWNERS);
}

/** The allocator's counter of `serial` (see serialStream). */
export function serialIndex(serial: number): number {
  if (serial === (serial & SMALL_SERIAL)) return (serial & (SHORT_SPACE - 1)) < SHORT_SPAWNERS ? serial >> 6 : serial >> 22;
  const rest = Math.floor(serial / SHORT_SPACE);
  return serial % SHORT_SPACE < SHORT_SPAWNERS ? rest : Math.floor(rest / LONG_SPAWNERS);
}

/** The serial of (stream, index): the inverse of serialStream and serialIndex. */
export function serialFromParts(stream: number, index: number): number {
  if (stream < SHORT_SPAWNERS) return index * SHORT_SPACE + stream;
  return (index * LONG_SPAWNERS + (stream - SHORT_SPAWNERS)) * SHORT_SPACE + SHORT_SPAWNERS;
}

/** Allocates serials for one spawner (an executor incarnation or the main thread). */
export class SerialAllocator {
  private counter = 0;
  /** The last counter whose serial is a safe integer. */
  private readonly lastCounter: number;

  constructor(readonly spawnerId: number) {
    if (!Number.isInteger(spawnerId) || spawnerId < 0 || spawnerId > MAX_SPAWNER_ID) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `spawnerId must be an integer in 0..${MAX_SPAWNER_ID}; got ${String(spawnerId)}`);
    }
    this.lastCounter =
      spawnerId < SHORT_SPAWNERS
        ? Math.floor((Number.MAX_SAFE_INTEGER - spawnerId) / SHORT_SPACE)
        : Math.floor((Math.floor(Number.MAX_SAFE_INTEGER / SHORT_SPACE) - (spawnerId - SHORT_SPAWNERS)) / LONG_SPAWNERS);
  }

  /** Serials allocated so far (the counter of the last one). */
  get allocated(): number {
    return this.counter;
  }

  next(): number {
    if (this.counter === this.lastCounter) {
      throw new HordeError(ErrorCode.SERIALS_EXHAUSTED, `spawner ${this.spawnerId} has allocated all ${this.lastCounter} of its serials`);
    }
    return serialFromParts(this.spawnerId, ++this.counter);
  }
}
