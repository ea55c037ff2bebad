/**
 * The node's service threads, in one list: every thread that is neither an executor nor the main
 * thread (the poller, the file worker, the store thread). Adding a service is one entry here
 * plus its worker entry module: the node starts, routes to, supervises, restarts and stops every
 * entry the same way (src/node/service-thread.ts), and the executors route requests to it by this
 * list.
 *
 * Each service has an endpoint pid whose shard number is reserved (`serviceShard`: counting down
 * from just below MAIN_SHARD, in list order), so every thread routes to it without a lookup, and
 * a participant index in the ring topology (after the main thread, in list order; see
 * src/participant/participants.ts). Shard numbers from MAX_SHARDS up are reserved this way, which
 * leaves room for 15 services.
 *
 * What a service serves decides which requests go to it: `timers` (one service, the poller, gets
 * every TIMER and TIMER_CANCEL) and `ops` (the `ctx.io` ops it answers; `ctx.compute` is the op
 * 'compute'). An op no service lists is answered at once with HORDE_INVALID_IO_REQUEST by the
 * requester's own shard.
 *
 * Optional services. A service with `optional` runs only on a node given its option (the store
 * thread: the node option `store`). It keeps its place in the list (its shard number and
 * participant index, so routing never changes; its rings exist, unused), but no thread is started:
 * the executors and the main thread answer its ops at once with `optional.absent` (see
 * `runningServices`). A host that says nothing about an optional service (the TestKit, the
 * simulator) has it absent.
 */

import { ErrorCode } from '../errors.js';
import type { IoOp } from './io.js';
import { MAIN_SHARD, MAX_SHARDS, pid as makePid, type Pid } from './pid.js';

export interface ServiceDescriptor {
  /** Its key in `status().services` and its name in events and errors. */
  readonly name: string;
  /** Its worker entry module, relative to the package's module root (built JavaScript, see src/internal/worker-url.ts). */
  readonly entry: string;
  /** Whether timer requests go here (exactly one service has it). */
  readonly timers: boolean;
  /** The `ctx.io` ops it serves. */
  readonly ops: readonly IoOp[];
  /** Set for a service that runs only when the node is given option `option`; its ops are answered `absent` otherwise. */
  readonly optional?: { readonly option: string; readonly absent: ErrorCode };
}

export const SERVICES = [
  { name: 'poller', entry: 'poller/worker.js', timers: true, ops: [] },
  {
    name: 'fileio',
    entry: 'fileio/worker.js',
    timers: false,
    ops: [
      'read',
      'write',
      'append',
      'fsync',
      'replace',
      'stat',
      'list',
      'remove',
      'logAppend',
      'logRead',
      'raftAppend',
      'raftHardState',
      'raftTruncate',
      'raftRead',
      'raftCompact',
      'raftSnapshot',
      'raftLoad',
      'raftGroups',
      'compute',
    ],
  },
  // The store thread (src/store/): SQLite databases in the data directory, with node option `store`.
  { name: 'store', entry: 'store/worker.js', timers: false, ops: ['sql', 'sqlTransaction', 'sqlNext', 'sqlClose'], optional: { option: 'store', absent: ErrorCode.NO_STORE } },
] as const satisfies readonly ServiceDescriptor[];

export type ServiceName = (typeof SERVICES)[number]['name'];

if (SERVICES.length > MAIN_SHARD - MAX_SHARDS - 1) throw new Error(`at most ${MAIN_SHARD - MAX_SHARDS - 1} services fit in the reserved shard numbers`);

/** The reserved shard number of service `service` (its index in SERVICES). */
export function serviceShard(service: number): number {
  return MAIN_SHARD - 1 - service;
}

/** The service whose endpoint has this shard number, or undefined. */
export function serviceOfShard(shard: number): number | undefined {
  const service = MAIN_SHARD - 1 - shard;
  return service >= 0 && service < SERVICES.length ? service : undefined;
}

/** The endpoint pid of service `service` on node `node`. */
export function servicePid(node: number, service: number): Pid {
  return makePid(node, serviceShard(service), 0);
}

/** The index of the service named `name`. */
export function serviceNamed(name: ServiceName): number {
  return SERVICES.findIndex((service) => service.name === name);
}

/** The service that holds every timer of the node. */
export const TIMER_SERVICE = SERVICES.findIndex((service) => service.timers);
if (SERVICES.filter((service) => service.timers).length !== 1) throw new Error('exactly one service must hold the timers');

const SERVICE_OF_OP = new Map<string, number>(SERVICES.flatMap((service, index) => service.ops.map((op): [string, number] => [op, index])));

/** The service that serves io op `op`, or undefined for an op no service serves. */
export function serviceForOp(op: unknown): number | undefined {
  return typeof op === 'string' ? SERVICE_OF_OP.get(op) : undefined;
}

/**
 * Which services run on a node whose options are `options` (by index in SERVICES): every service
 * but an optional one whose option is unset.
 */
export function runningServices(options: object): boolean[] {
  return SERVICES.map((service: ServiceDescriptor) => service.optional === undefined || (options as Record<string, unknown>)[service.optional.option] !== undefined);
}

/** The services a host runs when it says nothing: all but the optional ones. */
export const DEFAULT_RUNNING_SERVICES: readonly boolean[] = runningServices({});

/** The error code an op of service `service` is answered with where that service does not run. */
export function absentCode(service: number): ErrorCode {
  return (SERVICES[service] as ServiceDescriptor).optional?.absent ?? ErrorCode.INVALID_IO_REQUEST;
}
