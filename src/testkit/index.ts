/**
 * `horde/testkit`: testing horde code, deterministically. The TestKit (one node's shards on one
 * thread), the simulator (whole clusters from a seed: SimCluster, swarm, and its parts), the
 * simulated disk, the linearizability checker, and the seams the simulator plugs into (clock,
 * timers, randomness, transport, file system). The package root exports the same names.
 */

export type { FileInfo, FileSystem, OpenFile, OpenFlags } from '../fileio/file-system.js';
export { TestKit } from './testkit.js';
export type { ChannelSize, Crash, Probe, ProbeMessage, RemoteEnvelope, TestKitOptions, TracedEnvelope } from './testkit.js';
export { SimRandom } from './sim/random.js';
export { SimScheduler } from './sim/scheduler.js';
export type { RunLimits, SimEvent } from './sim/scheduler.js';
export { SimNodeTime } from './sim/node-time.js';
export { SimNetwork } from './sim/network.js';
export type { LinkLatency, SimNetworkOptions, SimNetworkStats } from './sim/network.js';
export { TraceHash } from './sim/trace.js';
export { SimCluster } from './sim/cluster.js';
export type { SimClusterOptions, SimMemberEvent } from './sim/cluster.js';
export { applyFaults, randomFaults, swarm } from './sim/swarm.js';
export type { FaultOptions, ScheduledFault, SimFault, SwarmOptions, SwarmReport } from './sim/swarm.js';
export type { Clock, Entropy, Random, TimerHandle, Timers } from '../internal/host.js';
export type { ByteStream, ListenEvents, Listener, Transport, TransportAddress } from '../net/transport.js';
export {
  DEFAULT_MAX_STEPS,
  UNKNOWN_OUTPUT,
  checkLinearizable,
  describeLinearizability,
  kvModel,
  registerModel,
} from './linearizability/index.js';
export type {
  BudgetExhausted,
  HistoryOperation,
  KvInput,
  KvOutput,
  KvState,
  LinearizabilityModel,
  LinearizabilityOptions,
  LinearizabilityResult,
  LinearizabilityUnknown,
  Linearizable,
  ModelStep,
  NotLinearizable,
  PartitionKey,
  RegisterInput,
  RegisterOutput,
  UnknownOutput,
} from './linearizability/index.js';
export { SimDisk } from './sim-disk.js';
export type { SimCrash, SimDiskOperation, SimDiskOptions, SimHold } from './sim-disk.js';
export { simFileWorker } from './sim-disk-worker.js';
export type { ComputeTasks } from './sim/compute.js';
export { MemoryRaftStorage } from '../fileio/raft-memory-storage.js';
export type { SimFileWorker, SimFileWorkerOptions } from './sim-disk-worker.js';
