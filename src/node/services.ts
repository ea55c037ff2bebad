// Starting the node's service threads: the poller (timers) and the file worker (files, logs, compute).
import type { FileWorkerApi, FileWorkerData } from '../fileio/protocol.js';
import { fileioIndex, pollerIndex } from '../participant/participants.js';
import { workerEntry } from '../internal/worker-url.js';
import { clockOffset } from '../internal/clock.js';
import type { PollerApi, PollerWorkerData } from '../poller/poller.js';
import type { ResolvedOptions } from './options.js';
import type { Topology } from './topology.js';
import { WorkerHandle } from './worker-handle.js';

const POLLER_ENTRY = workerEntry(import.meta.url, '../poller/worker.js');
const FILEIO_ENTRY = workerEntry(import.meta.url, '../fileio/worker.js');

export interface ServiceEvents {
  malformed(error: unknown): void;
  exited(name: string, code: number, error: Error | undefined): void;
}

/** What every participant's worker (executors included) needs to find its rings. */
export function ringData(topology: Topology, options: ResolvedOptions, index: number) {
  return {
    node: options.nodeId,
    shards: options.executors,
    bell: topology.bells[index]!.buffer,
    inbound: topology.inboundOf(index),
    outbound: topology.outboundOf(index),
    overflowLimit: options.overflowLimit,
    maxMessageBytes: options.maxMessageBytes,
  };
}

export function startPoller(topology: Topology, options: ResolvedOptions, events: ServiceEvents): Promise<WorkerHandle<PollerApi>> {
  const index = pollerIndex(options.executors);
  const data: Omit<PollerWorkerData, 'status'> = { ...ringData(topology, options, index), clockOffset: clockOffset() };
  return WorkerHandle.start<PollerApi>({
    name: 'poller',
    entry: POLLER_ENTRY,
    data,
    bell: topology.bells[index]!,
    onExit: (code, error) => events.exited('poller', code, error),
  });
}

export function startFileWorker(topology: Topology, options: ResolvedOptions, events: ServiceEvents): Promise<WorkerHandle<FileWorkerApi>> {
  const index = fileioIndex(options.executors);
  const data: FileWorkerData = {
    ...ringData(topology, options, index),
    dataDir: options.dataDir,
    computeModules: options.computeModules,
    preload: options.preload,
    computeThreads: options.computeThreads,
  };
  return WorkerHandle.start<FileWorkerApi>({
    name: 'file worker',
    entry: FILEIO_ENTRY,
    data,
    bell: topology.bells[index]!,
    onMessage: (message) => {
      if (message.type === 'malformed') events.malformed((message as { error?: unknown }).error);
    },
    onExit: (code, error) => events.exited('file worker', code, error),
  });
}
