/**
 * Participants of a node's ring topology: executors 0..shards-1, then the main thread, then the
 * service threads in the order of SERVICES (src/process/services.ts). Every thread routes a pid to
 * a participant with `participantOf`, without a lookup: the shard is in the pid.
 */
import { MAIN_SHARD, type Pid } from '../process/pid.js';
import { SERVICES, serviceOfShard } from '../process/services.js';

export function mainIndex(shards: number): number {
  return shards;
}

/** The participant index of service `service` (its index in SERVICES). */
export function serviceIndex(shards: number, service: number): number {
  return shards + 1 + service;
}

/** The service at participant `index`, or undefined for an executor or the main thread. */
export function serviceAt(shards: number, index: number): number | undefined {
  const service = index - shards - 1;
  return service >= 0 && service < SERVICES.length ? service : undefined;
}

export function participantCount(shards: number): number {
  return shards + 1 + SERVICES.length;
}

/**
 * The participant that holds `target`: its executor, one of the node's service threads, or the
 * main thread for pids of other nodes (the cluster server lives there). Undefined for a shard
 * number no executor has.
 */
export function participantOf(target: Pid, node: number, shards: number): number | undefined {
  if (target.node !== node) return mainIndex(shards);
  return participantOfShard(target.shard, shards);
}

/** The participant holding a local pid with this shard number (undefined: no such shard). */
export function participantOfShard(shard: number, shards: number): number | undefined {
  if (shard < shards) return shard;
  if (shard === MAIN_SHARD) return mainIndex(shards);
  const service = serviceOfShard(shard);
  return service === undefined ? undefined : serviceIndex(shards, service);
}
