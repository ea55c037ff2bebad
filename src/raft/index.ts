/**
 * The Raft core's public surface: the protocol state machine (`RaftCore`), its inputs and
 * outputs, the message and log types, and the in-memory storage tests and simulations use.
 * Files, one job each: types.ts (vocabulary), options.ts (options and defaults), log.ts (the
 * in-memory log), membership.ts (one-server changes, majorities), progress.ts (the leader's view
 * of a follower), read-index.ts (ReadIndex rounds), snapshot-receiver.ts (chunk assembly),
 * ready.ts (what the host carries out), inputs.ts (inputs, answers, status as data), core.ts (the protocol), memory-persistence.ts (storage),
 * sessions.ts (exactly-once commands, layered on a state machine).
 */
export { RaftCore } from './core.js';
export type { MemberProgress, RaftAnswer, RaftInput, RaftStatus, RefusalReason } from './inputs.js';
export { MemoryRaftPersistence } from './memory-persistence.js';
export { ClientSessions } from './sessions.js';
export type { ClientSessionsOptions, SessionCommand, SessionReply } from './sessions.js';
export type { RaftOptions } from './options.js';
export type { LogBase } from './log.js';
export type { AppendWrite, RaftPersistedState, RaftReady, PersistedSnapshot, ReadFailure, ReadState, TakenSnapshot } from './ready.js';
export type {
  AppendRequest,
  AppendResponse,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Index,
  MemberId,
  Membership,
  MembershipChange,
  PreVoteRequest,
  RaftMessage,
  RaftMessageBase,
  RaftRole,
  ReadIndexRequest,
  ReadIndexResponse,
  SnapshotChunk,
  SnapshotMeta,
  SnapshotResponse,
  Term,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from './types.js';
