// The public surface of horde: every name users may import, and nothing else.

export { ErrorCode, HordeError, errorFromWire, errorToWire, isWireError } from './errors.js';
export type { WireError } from './errors.js';

export { Doorbell } from './ring/doorbell.js';
export type { ParkResult } from './ring/doorbell.js';
export {
  DEFAULT_RING_CAPACITY,
  RingReader,
  RingWriter,
  createRing,
  maxPayloadFor,
  recordBytes,
} from './ring/ring.js';
export type { RecordVisitor, RingHandle, RingOptions } from './ring/ring.js';
export { DEFAULT_POLL_BUDGET, DEFAULT_SPIN_CHECKS, InboundRings } from './ring/inbound.js';
export type { InboundVisitor, WaitOptions, WaitResult } from './ring/inbound.js';

export { startNode, HordeNode } from './node/node.js';
export type { AskOptions, DownNotice, NodeStatus } from './node/node.js';
export { isOutcomeUnknown } from './node/node.js';
export type { NodeOptions, MetricsOptions } from './node/options.js';
export type { MetricsAddress } from './node/metrics-server.js';
export type { TypeScriptMode } from './internal/typescript-loader.js';
export type { ClusterOptions, ClusterTls } from './cluster/options.js';
export type { ClusterStatus, MemberState, MemberStatus } from './cluster/cluster.js';
export type { JsonValue } from './cluster/wire-check.js';
export type { PollerStatus } from './poller/poller.js';
export type { FileWorkerStatus } from './fileio/protocol.js';
export type { StoreOptions } from './process/store-options.js';
export type { StoreWorkerStatus } from './store/protocol.js';
export type { StoreServiceStatus } from './store/service.js';
export type { SqlAnswer, SqlCloseRequest, SqlNextRequest, SqlParams, SqlRequest, SqlRow, SqlRows, SqlRun, SqlStatement, SqlTransactionRequest, SqlValue, StoreRequest } from './process/sql.js';
export type { FileServiceStatus } from './fileio/service.js';
export type { ServiceStatus } from './node/service-thread.js';

export { MAIN_SHARD, formatPid, isPid, pidKey, samePid } from './process/pid.js';
export type { MessageOf, Pid } from './process/pid.js';
export { Down, Exit, defineBehaviours } from './process/types.js';
export type { Behaviours, Context, ExitReason, Process, ProcessFactory, ReplyToken, SpawnOptions, SystemMessage } from './process/types.js';
export { SUPERVISOR_KIND, Supervisor } from './process/supervisor.js';
export type { ChildInfo, ChildSpec, RestartPolicy, RestartStrategy, SupervisorSpec, WhichChildren } from './process/supervisor.js';
export type { ExecutorStatus } from './executor/protocol.js';
export { IoResult } from './process/io.js';
export type { FileStat, IoData, IoOp, IoReply, IoRequest, RaftHardState, TimerOptions } from './process/io.js';
export type { RaftAppendResult, RaftEntry, RaftLogState, RaftSnapshot, RaftSnapshotMeta, RaftStorage } from './fileio/raft-storage.js';
export type { LogReadResult, LogRecord } from './fileio/log.js';
export { Signal } from './codec/envelope.js';

export * from './testkit/index.js';

export { PID_PROTO, PID_PROTO_PATH } from './codec/pid-schema.js';
export { messageTypeOf, registerMessageType, typed } from './codec/protobuf.js';
export type { MessageType, RegisterOptions, Typed } from './codec/protobuf.js';

export { connect } from './gateway/client.js';
export type { ConnectOptions, GatewayAddress, GatewayClient, RequestOptions } from './gateway/client.js';
export { Gateway, startGateway } from './gateway/gateway.js';
export type { GatewayStatus, ThrottleEvent } from './gateway/gateway.js';
export type { GatewayOptions } from './gateway/options.js';
export { CANARY_KIND } from './process/canary.js';

export * from './raft/index.js';

export {
  CANARY_LIMIT_X_IDLE,
  GOODPUT_SHARE_OF_PEAK,
  TARGET_MULTIPLE,
  buildSchedule,
  checkTargets,
  formatSummary,
  measureCapacity,
  renderHtmlReport,
  runLoadTest,
  writeHtmlReport,
  writeJsonReport,
  writeReports,
} from './loadtest/index.js';
export type {
  CapacityOptions,
  CapacityResult,
  Counts,
  GatewaySample,
  LatencySummary,
  LoadTarget,
  LoadTestOptions,
  LoadTestResult,
  NodePeak,
  NodeSample,
  PhaseResult,
  ProgressStream,
  ScheduleOptions,
  ScheduleStep,
  SecondStats,
  StepStats,
  TargetCheck,
  TargetSample,
} from './loadtest/index.js';
