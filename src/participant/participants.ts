/**
 * Participants of a node's ring topology: executors 0..shards-1, then the main thread, the
 * poller and the file worker. Every thread routes a pid to a participant with `participantOf`,
 * without a lookup: the shard is in the pid.
 */
import { FILEIO_SHARD, MAIN_SHARD, POLLER_SHARD, type Pid } from '../process/pid.js';

export function mainIndex(shards: number): number {
  return shards;
}

export function pollerIndex(shards: number): number {
  return shards + 1;
}

export function fileioIndex(shards: number): number {
  return shards + 2;
}

export function participantCount(shards: number): number {
  return shards + 3;
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
  switch (shard) {
    case MAIN_SHARD:
      return mainIndex(shards);
    case POLLER_SHARD:
      return pollerIndex(shards);
    case FILEIO_SHARD:
      return fileioIndex(shards);
    default:
      return shard < shards ? shard : undefined;
  }
}
