/**
 * One errors module for all of horde. Every error horde raises is a `HordeError` with a stable
 * `code` (users match on it; it never changes once released) and an optional `cause`.
 *
 * Errors that cross a thread travel as plain `{code, message, cause}` records (a structured clone
 * of a custom error class arrives as a plain `Error` without its code) and are rebuilt on the
 * other side with `errorFromWire`.
 */

/**
 * Every stable error code horde raises, by name: match a caught `HordeError`'s `code` against these
 * (`err.code === ErrorCode.TIMEOUT`). The string values never change once released.
 */
export const ErrorCode = {
  /** An option passed to a public function is missing, of the wrong type or out of range. */
  INVALID_OPTION: 'HORDE_INVALID_OPTION',
  /** A record is larger than the ring can ever hold (more than half its capacity), or than a durable log's `maxRecordBytes`. */
  RECORD_TOO_LARGE: 'HORDE_RECORD_TOO_LARGE',
  /** A message whose encoded envelope is larger than the node's `maxMessageBytes`: refused at the sender (the sending process keeps running). */
  MESSAGE_TOO_LARGE: 'HORDE_MESSAGE_TOO_LARGE',
  /** A ring kind tag outside 0..254 (255 is reserved for the wrap marker). */
  INVALID_RECORD_KIND: 'HORDE_INVALID_RECORD_KIND',
  /** A shared buffer does not hold a ring or doorbell of the expected layout. */
  INVALID_SHARED_BUFFER: 'HORDE_INVALID_SHARED_BUFFER',
  /** A thread tried to block (Atomics.wait) where it is not allowed, such as the main thread. */
  WOULD_BLOCK: 'HORDE_WOULD_BLOCK',
  /** A bounded wait ran out of time. */
  TIMEOUT: 'HORDE_TIMEOUT',
  /** A behaviour module failed to load or does not export valid `behaviours`. */
  BEHAVIOUR_MODULE: 'HORDE_BEHAVIOUR_MODULE',
  /** A module is TypeScript and no TypeScript loader (tsx) is installed where the application is, or the one found cannot register in a worker. */
  TYPESCRIPT_LOADER: 'HORDE_TYPESCRIPT_LOADER',
  /** A spawn named a process kind no behaviour module defines. */
  UNKNOWN_KIND: 'HORDE_UNKNOWN_KIND',
  /** The target process does not exist (or ended before it answered). */
  NOPROC: 'HORDE_NOPROC',
  /** A name is already registered to a live process. */
  NAME_TAKEN: 'HORDE_NAME_TAKEN',
  /** The node is stopping or stopped. */
  NODE_STOPPED: 'HORDE_NODE_STOPPED',
  /** A bounded queue on the way to the target is full: try again later. */
  OVERLOADED: 'HORDE_OVERLOADED',
  /** A worker thread of the node failed to start. */
  WORKER_START_FAILED: 'HORDE_WORKER_START_FAILED',
  /** A timer with a negative or non-finite delay. */
  INVALID_TIMER: 'HORDE_INVALID_TIMER',
  /** A file request on a node started without a dataDir. */
  NO_DATA_DIR: 'HORDE_NO_DATA_DIR',
  /** An io request of the wrong shape (unknown op, missing path or data). */
  INVALID_IO_REQUEST: 'HORDE_INVALID_IO_REQUEST',
  /** ctx.compute named a task no compute module exports. */
  UNKNOWN_TASK: 'HORDE_UNKNOWN_TASK',
  /** A store request (`sql`, `sqlTransaction`, ...) on a node started without the `store` option, or in a TestKit or SimCluster. */
  NO_STORE: 'HORDE_NO_STORE',
  /** SQLite refused a statement (syntax, constraint, a parameter it cannot bind, a busy database past `busyTimeoutMs`): the error's `cause.code` is SQLite's code; nothing of the request was applied. */
  SQL_ERROR: 'HORDE_SQL_ERROR',
  /** A store cursor that is unknown, finished, closed, idle past `cursorIdleMs`, or lost with its store thread. */
  CURSOR_EXPIRED: 'HORDE_CURSOR_EXPIRED',
  /** A query inside a transaction (or a write with RETURNING) gave more rows than one answer may carry (`maxRowsPerAnswer`): the request is rolled back. */
  TOO_MANY_ROWS: 'HORDE_TOO_MANY_ROWS',
  /** A cluster frame longer than the connection's limit (the connection is closed). */
  FRAME_TOO_LARGE: 'HORDE_FRAME_TOO_LARGE',
  /** An error from another thread whose code this build does not know. */
  REMOTE_ERROR: 'HORDE_REMOTE_ERROR',
  /** Anything thrown that was not an Error at all. */
  UNKNOWN: 'HORDE_UNKNOWN',
  /** A message holds a value no codec can carry to another thread (the message names its path). */
  UNENCODABLE_MESSAGE: 'HORDE_UNENCODABLE_MESSAGE',
  /** An envelope to encode has a field out of range (signal, pids, ref): a runtime bug, not user data. */
  INVALID_ENVELOPE: 'HORDE_INVALID_ENVELOPE',
  /** Bytes that should hold an encoded envelope or payload do not (truncated, corrupt, not ours). */
  MALFORMED_ENVELOPE: 'HORDE_MALFORMED_ENVELOPE',
  /** A protobuf message type name or id this thread has not registered. */
  UNKNOWN_MESSAGE_TYPE: 'HORDE_UNKNOWN_MESSAGE_TYPE',
  /** A message type registration clashes with an earlier one (same name or same id, other schema). */
  MESSAGE_TYPE_CONFLICT: 'HORDE_MESSAGE_TYPE_CONFLICT',
  /** A timer wheel already holds as many pending timers as its id space allows (2^26). */
  TIMER_CAPACITY: 'HORDE_TIMER_CAPACITY',
  /** A durable log holds a record that fails its checksum or has an impossible length; it is never returned. */
  LOG_CORRUPT: 'HORDE_LOG_CORRUPT',
  /** A durable log's write or fsync failed (the cause is the fs error): it accepts no more appends. */
  LOG_FAILED: 'HORDE_LOG_FAILED',
  /**
   * A Raft log index outside what the group's log allows: an append that leaves a gap after the
   * last entry or starts at or before the snapshot, a read or truncation outside the entries held,
   * a compaction at or before the current snapshot.
   */
  RAFT_INDEX: 'HORDE_RAFT_INDEX',
  /** A Raft log store bound is reached: too many groups (`maxGroups`) or too many live entry bytes (`maxLiveBytes`): compact or drop groups first. */
  RAFT_LIMIT: 'HORDE_RAFT_LIMIT',
  /** The durable log is closing or closed. */
  LOG_CLOSED: 'HORDE_LOG_CLOSED',
  /** The file is already open as a durable log on this thread. */
  LOG_IN_USE: 'HORDE_LOG_IN_USE',
  /** A read offset is not the start of a record of the log (or is past its acknowledged end). */
  INVALID_OFFSET: 'HORDE_INVALID_OFFSET',
  /** A path is absolute, climbs out with `..`, or goes through a symlink that leads out of the data directory. */
  PATH_OUTSIDE_DATA_DIR: 'HORDE_PATH_OUTSIDE_DATA_DIR',
  /** A path is malformed: empty, NUL bytes, backslashes, ill-formed Unicode, a file used as a directory, a symlink loop. */
  INVALID_PATH: 'HORDE_INVALID_PATH',
  /** A file operation failed for a reason of its own (the cause is the fs error with its code). */
  IO_ERROR: 'HORDE_IO_ERROR',
  /** Bytes from a cluster peer that are not a valid frame (the connection is closed). */
  MALFORMED_FRAME: 'HORDE_MALFORMED_FRAME',
  /** A cluster handshake failed: wrong secret, version mismatch, bad name, stalled or replayed. */
  HANDSHAKE_FAILED: 'HORDE_HANDSHAKE_FAILED',
  /** A TLS handshake with a cluster peer failed (no certificate, not signed by the cluster's CA, protocol error). */
  TLS_FAILED: 'HORDE_TLS_FAILED',
  /** Two nodes of one cluster claim the same node number (pick another `nodeId`). */
  NODE_ID_CONFLICT: 'HORDE_NODE_ID_CONFLICT',
  /** A cluster connection closed (or never opened) before the operation completed. */
  CONNECTION_CLOSED: 'HORDE_CONNECTION_CLOSED',
  /** The operation needs a clustered node (started with `cluster` options). */
  NOT_CLUSTERED: 'HORDE_NOT_CLUSTERED',
  /** A hybrid logical clock timestamp from a peer is further ahead of the local wall clock than the accepted drift. */
  CLOCK_DRIFT: 'HORDE_CLOCK_DRIFT',
  /** A replicated structure (membership, directory, metadata) would exceed a size limit; the change or delta is refused whole. */
  STATE_LIMIT: 'HORDE_STATE_LIMIT',
  /** A gateway request (or frame) that does not parse: malformed protobuf, payload not UTF-8 JSON, a duplicate request id. */
  BAD_REQUEST: 'HORDE_BAD_REQUEST',
  /** A gateway request named a service no process is registered under. */
  UNKNOWN_SERVICE: 'HORDE_UNKNOWN_SERVICE',
  /** The load test's capacity run completed no request, so no schedule can be built on it. */
  LOADTEST_NO_CAPACITY: 'HORDE_LOADTEST_NO_CAPACITY',
  /** A pid allocator (an executor incarnation, the main thread) has used every serial it can make unique. */
  SERIALS_EXHAUSTED: 'HORDE_SERIALS_EXHAUSTED',
  /**
   * A worker thread exited before it answered: a control call to an executor that crashed, or an
   * io or compute request whose service thread died (it is restarted; the request may or may not
   * have been carried out).
   */
  WORKER_EXITED: 'HORDE_WORKER_EXITED',
  /** A service thread of the node died more often than its restart intensity allows: the node stops. */
  RESTART_INTENSITY: 'HORDE_RESTART_INTENSITY',
  /** A simulated run took its most events (`maxEvents`) without reaching what it ran for: the code under test never settles. */
  SIM_STALLED: 'HORDE_SIM_STALLED',
  /** A seed of a simulation swarm failed its scenario: the message names the seed, the replay command and the shrunk fault schedule. */
  SIM_FAILED: 'HORDE_SIM_FAILED',
} as const;

/** One of the `ErrorCode` strings (`'HORDE_TIMEOUT'`, ...). */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The error horde throws and rejects with: a message for people plus a stable `code` for programs.
 * An error rebuilt from another thread or node (`errorFromWire`) is a `HordeError` too.
 */
export class HordeError extends Error {
  /** Always `'HordeError'`, also after the error crossed a thread or socket. */
  override readonly name = 'HordeError';
  /** The stable code: one of `ErrorCode`, or whatever code a rebuilt foreign error carried. */
  readonly code: string;

  /** Creates an error with `code` and `message`; `options.cause` is the underlying error, if any. */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** The form an error takes when it crosses a thread or a socket. */
export interface WireError {
  /** The error's `code` property; `HORDE_UNKNOWN` when the thrown value had none. */
  code: string;
  /** The error's message, or a description of a thrown value that was not an Error. */
  message: string;
  /** The error class's name (`'HordeError'`, `'TypeError'`, ...); absent for non-Error values. */
  name?: string;
  /** The stack trace where the error was made, kept by `errorFromWire`. */
  stack?: string;
  /** The error's `cause` in the same form; a chain is cut after 8 causes. */
  cause?: WireError;
}

const MAX_CAUSE_DEPTH = 8;

/** Flattens any thrown value (and its chain of causes, to a bounded depth) into a `WireError`. */
export function errorToWire(value: unknown, depth = 0): WireError {
  if (value instanceof Error) {
    const maybeCode = (value as { code?: unknown }).code;
    const code = typeof maybeCode === 'string' ? maybeCode : ErrorCode.UNKNOWN;
    const wire: WireError = { code, message: value.message, name: value.name };
    if (value.stack !== undefined) wire.stack = value.stack;
    if (value.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
      wire.cause = errorToWire(value.cause, depth + 1);
    }
    return wire;
  }
  return { code: ErrorCode.UNKNOWN, message: describeNonError(value) };
}

/** Rebuilds a `HordeError` (code, message, stack and causes) from its wire form. */
export function errorFromWire(wire: WireError): HordeError {
  const cause = wire.cause === undefined ? undefined : errorFromWire(wire.cause);
  const error = new HordeError(wire.code, wire.message, cause === undefined ? undefined : { cause });
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** True when `value` looks like a `WireError` (for validating what arrives from elsewhere). */
export function isWireError(value: unknown): value is WireError {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.code === 'string' && typeof record.message === 'string';
}

function describeNonError(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return `non-error value thrown: ${JSON.stringify(value) ?? String(value)}`;
  } catch (jsonError) {
    return `non-error value thrown (${String(jsonError)}): ${Object.prototype.toString.call(value)}`;
  }
}

/** Throws a `HordeError` with code INVALID_OPTION that names the option. */
export function invalidOption(option: string, expected: string, got: unknown): never {
  throw new HordeError(
    ErrorCode.INVALID_OPTION,
    `option "${option}" must be ${expected}; got ${typeof got === 'string' ? JSON.stringify(got) : String(got)}`,
  );
}
