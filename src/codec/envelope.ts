/**
 * The envelope: how one message or signal crosses a thread boundary (and later a socket).
 *
 * The sending thread encodes it once, straight into a ring record of kind RECORD_ENVELOPE
 * (`encodeEnvelope`: the payload is encoded first so its size is known, then the ring reserves
 * exactly header + body and both are written in place; nothing the size of the record is
 * allocated), or into a fresh array for an overflow queue or a socket (`encodeEnvelopeToBytes`,
 * the same bytes). The receiving thread decodes it with `decodeEnvelope`. The main thread can
 * forward envelope bytes between a socket and a ring without decoding the payload: the header
 * says where the body ends.
 *
 * Layout, little-endian, 40 bytes of header then the body (all f64 fields 8-byte aligned
 * relative to the envelope's start):
 *
 * | offset | size | field       | type | meaning                                                  |
 * | -----: | ---: | ----------- | ---- | -------------------------------------------------------- |
 * |      0 |    1 | signal      | u8   | Signal (below)                                           |
 * |      1 |    1 | flags       | u8   | no flag defined yet: written 0, any other value refused  |
 * |      2 |    1 | encoding    | u8   | PayloadEncoding: NONE 0, JSON 1, PROTOBUF 2, TAGGED_JSON 3, ASCII 4 |
 * |      3 |    1 | reserved    | u8   | 0                                                        |
 * |      4 |    2 | to.node     | u16  |                                                          |
 * |      6 |    2 | to.shard    | u16  |                                                          |
 * |      8 |    8 | to.serial   | f64  | a safe integer >= 0                                      |
 * |     16 |    2 | from.node   | u16  | 0 when there is no sender                                |
 * |     18 |    2 | from.shard  | u16  | 0 when there is no sender                                |
 * |     20 |    4 | body length | u32  | bytes after the header (type id included)                |
 * |     24 |    8 | from.serial | f64  | a safe integer >= 0, or -1: no sender                    |
 * |     32 |    8 | ref         | f64  | correlation or monitor reference, a safe integer; 0 none |
 * |     40 |    2 | type id     | u16  | PROTOBUF only: the registered type (see protobuf.ts)     |
 * | 40, 42 |    n | payload     |      | the encoded payload (see payload.ts)                     |
 *
 * The body length repeats what the ring record already says; it is there so an envelope is
 * self-delimiting (several can share a socket frame) and so a truncated record is detected rather
 * than read as a shorter message (a JSON `42` cut to `4` still parses).
 *
 * Decoding checks every field (known signal and encoding, zero flags and reserved byte, body
 * length equal to what follows, integral serials and ref in range, valid UTF-8 and JSON, a
 * protobuf the registered type can read) and throws a HordeError with code MALFORMED_ENVELOPE on
 * the first that fails (UNKNOWN_MESSAGE_TYPE for a type id this thread never registered): bytes
 * that are not an envelope never crash the reader and never come out as a message.
 *
 * Measured on the 2-core machine: see bench/codec.ts (`node --import tsx bench/run.ts codec`).
 */

import { ErrorCode, HordeError } from '../errors.js';
import { isPid, pid, type Pid } from '../process/pid.js';
import { PayloadEncoding, decodePayload, encodePayload, writeAsciiText, type EncodedPayload } from './payload.js';
import { copyBytes } from './utf8.js';

/**
 * What an envelope carries. The numbers are part of the envelope format and the cluster wire:
 * never renumber, only add (up to 255).
 */
export const Signal = {
  /** A user message; the payload is the message. */
  USER: 1,
  /** An exit signal: `from` ended (or asks the target to end) with the payload as reason. */
  EXIT: 2,
  /** A monitor notice: `from` ended; `ref` names the monitor, the payload is the reason. */
  DOWN: 3,
  /** Link `from` and the target (the target's half of a link); a missing target answers with an EXIT. */
  LINK: 4,
  /** Remove the link between `from` and the target. */
  UNLINK: 5,
  /** Start watching the target; `ref` names the monitor. */
  MONITOR: 6,
  /** Stop the monitor `ref` that `from` holds on the target. */
  DEMONITOR: 7,
  /** Start a process with the target pid; the payload is a SpawnRequest `{kind, args, link?}` (link: the parent to link to). */
  SPAWN: 8,
  /** End the target at once with the payload as reason (not trappable). */
  KILL: 9,
  /** To the poller: start a timer owned by `from`; `ref` names it; the payload is a TimerRequest `{dueMs, delayMs, repeat, message}`. */
  TIMER: 10,
  /** To the poller: cancel the timers of `from` named by `ref` (or, with ref 0, the payload's refs). */
  TIMER_CANCEL: 11,
  /** From the poller: timer `ref` fired; the payload is the owner's message. */
  TIMER_FIRE: 12,
  /** To the file worker: an IoRequest (file, durable log or compute); `ref` correlates the answer. */
  IO: 13,
  /** From the file worker: the answer to request `ref` (an IoReply: `{ok: true, value}` or `{ok: false, error}`). */
  IO_REPLY: 14,
} as const;

export type Signal = (typeof Signal)[keyof typeof Signal];

/** The highest signal this build knows; decoding refuses others. */
const MAX_SIGNAL: number = Signal.IO_REPLY;

export function isSignal(value: unknown): value is Signal {
  return typeof value === 'number' && Number.isInteger(value) && value >= Signal.USER && value <= MAX_SIGNAL;
}

/** Ring record kind of an envelope. */
export const RECORD_ENVELOPE = 1;
/**
 * Ring record kind of a run: several complete envelopes, concatenated (as in a cluster batch).
 * Runs carry the cluster's traffic between the main thread and the executors, so that the main
 * thread moves it a run at a time instead of an envelope at a time: an executor gathers the USER
 * envelopes it sends to one other node in a row into a run (Outbound), and the main thread hands
 * the envelopes of a peer's batch for one shard to it as runs (ClusterServer.onBatch). The
 * consumer walks a run with `walkEnvelopes` (envelope-header.ts) and decodes each envelope on its own.
 */
export const RECORD_ENVELOPES = 2;
/**
 * Ring record kinds of a record larger than the ring's largest record (half the ring): its bytes
 * travel as chunks, in order and never interleaved with other records of the same ring. The first
 * chunk starts with CHUNK_HEADER_BYTES saying how long the whole record is and what kind it is
 * (RECORD_ENVELOPE, or RECORD_ENVELOPES); the others are bytes only. The reader hands the whole
 * record on as if it had come in one piece (src/participant/chunks.ts).
 */
export const RECORD_CHUNK_FIRST = 3;
export const RECORD_CHUNK = 4;
/** The first chunk's header: u32 total length of the record (LE), u8 its kind, three zero bytes. */
export const CHUNK_HEADER_BYTES = 8;
/** A run grows to at most this many bytes (and never past the ring's largest record). */
export const RUN_MAX_BYTES = 32 * 1024;
/** Envelopes at least this large never join a run (they gain nothing, and stay off BULK's way). */
export const RUN_ENVELOPE_MAX = 4096;

export const ENVELOPE_HEADER_BYTES = 40;
/** The `from.serial` that means "no sender". */
export const NO_SENDER_SERIAL = -1;
/** The `ref` that means "no reference". */
export const NO_REF = 0;

/** Byte offsets of the header fields (see the table above). */
export const EnvelopeField = {
  SIGNAL: 0,
  FLAGS: 1,
  ENCODING: 2,
  RESERVED: 3,
  TO_NODE: 4,
  TO_SHARD: 6,
  TO_SERIAL: 8,
  FROM_NODE: 16,
  FROM_SHARD: 18,
  BODY_LENGTH: 20,
  FROM_SERIAL: 24,
  REF: 32,
  TYPE_ID: 40,
} as const;

const TYPE_ID_BYTES = 2;

/** One message or signal between processes. A plain object; never mutated once built. */
export interface Envelope {
  readonly signal: Signal;
  readonly to: Pid;
  /** The sending process, or undefined (the node itself, a timer, a client). */
  readonly from: Pid | undefined;
  /** Correlation or monitor reference; NO_REF (0) for none. */
  readonly ref: number;
  readonly payload: unknown;
}

/** Where `encodeEnvelope` writes: a RingWriter, or anything that reserves space the same way. */
export interface EnvelopeTarget {
  readonly bytes: Uint8Array;
  /** A DataView over exactly the same bytes as `bytes`. */
  readonly view: DataView;
  /** Room for one record of `length` payload bytes: its offset in `bytes`, or -1 when full. */
  reserve(kind: number, length: number): number;
  /** Room for `length` more bytes of the run `tag` (see RingWriter.reserveInRun), or -1 when full. */
  reserveInRun(kind: number, tag: number, length: number, maxRun: number): number;
}

/**
 * Encodes `envelope` as one RECORD_ENVELOPE record reserved in `target`, or with `runTag` (>= 0)
 * into the run of that label (RECORD_ENVELOPES, see RUN_ENVELOPE_MAX), without publishing it
 * (the caller publishes once per batch). Returns false, having written nothing, when the ring is
 * full. Throws, having written nothing: UNENCODABLE_MESSAGE for a payload no codec can carry,
 * INVALID_ENVELOPE for a header field out of range, RECORD_TOO_LARGE (from the ring) for an
 * envelope larger than the ring can ever hold.
 */
export function encodeEnvelope(target: EnvelopeTarget, envelope: Envelope, runTag = -1): boolean {
  checkEnvelope(envelope);
  const payload = encodePayload(envelope.payload);
  const bodyLength = bodyBytes(payload);
  const length = ENVELOPE_HEADER_BYTES + bodyLength;
  const offset =
    runTag >= 0 && length < RUN_ENVELOPE_MAX ? target.reserveInRun(RECORD_ENVELOPES, runTag, length, RUN_MAX_BYTES) : target.reserve(RECORD_ENVELOPE, length);
  if (offset < 0) return false;
  writeEnvelope(target.view, target.bytes, offset, envelope, payload, bodyLength);
  return true;
}

/**
 * `encodeEnvelope` for a sender that keeps what the ring does not take (Outbound): returns
 * undefined once the envelope is written into `target`; otherwise the envelope's bytes in a new
 * array, from the payload already encoded, when the ring is full or the envelope is larger than
 * one record can be (`target.maxPayload`: the caller sends it in chunks; its bytes go where
 * `large(length)` says). Throws as `encodeEnvelope` does, and MESSAGE_TOO_LARGE, having written
 * and allocated nothing, for an envelope of more than `maxBytes`.
 */
export function encodeEnvelopeOrBytes(
  target: EnvelopeTarget & { readonly maxPayload: number },
  envelope: Envelope,
  runTag: number,
  maxBytes: number,
  large: (length: number) => Uint8Array,
): Uint8Array | undefined {
  checkEnvelope(envelope);
  const payload = encodePayload(envelope.payload);
  const bodyLength = bodyBytes(payload);
  const length = ENVELOPE_HEADER_BYTES + bodyLength;
  if (length > maxBytes) throw tooLarge(length, maxBytes);
  if (length <= target.maxPayload) {
    const offset =
      runTag >= 0 && length < RUN_ENVELOPE_MAX ? target.reserveInRun(RECORD_ENVELOPES, runTag, length, RUN_MAX_BYTES) : target.reserve(RECORD_ENVELOPE, length);
    if (offset >= 0) {
      writeEnvelope(target.view, target.bytes, offset, envelope, payload, bodyLength);
      return undefined;
    }
    return bytesOf(envelope, payload, bodyLength);
  }
  const bytes = large(length);
  writeEnvelope(new DataView(bytes.buffer, bytes.byteOffset, length), bytes, 0, envelope, payload, bodyLength);
  return bytes;
}

/**
 * The bytes `encodeEnvelope` would write, in a new array of exactly that size. Throws as
 * `encodeEnvelope` does, and MESSAGE_TOO_LARGE, having allocated nothing, for an envelope of more
 * than `maxBytes`.
 */
export function encodeEnvelopeToBytes(envelope: Envelope, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  checkEnvelope(envelope);
  const payload = encodePayload(envelope.payload);
  const bodyLength = bodyBytes(payload);
  if (ENVELOPE_HEADER_BYTES + bodyLength > maxBytes) throw tooLarge(ENVELOPE_HEADER_BYTES + bodyLength, maxBytes);
  return bytesOf(envelope, payload, bodyLength);
}

function bytesOf(envelope: Envelope, payload: EncodedPayload, bodyLength: number): Uint8Array {
  // Memory from Buffer's pool (small envelopes are kept this way when a ring is full, many at a
  // time), handed out as a plain Uint8Array so that `slice` copies as callers expect.
  const buffer = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + bodyLength);
  writeEnvelope(new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength), buffer, 0, envelope, payload, bodyLength);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function tooLarge(length: number, maxBytes: number): HordeError {
  return new HordeError(ErrorCode.MESSAGE_TOO_LARGE, `message refused: its envelope is ${length} bytes, more than maxMessageBytes (${maxBytes})`);
}

/**
 * The pids of the last envelope decoded on this thread: a stream of messages between the same two
 * processes shares its pid objects instead of making two per message (pids are immutable values).
 */
let lastTo: Pid = pid(0, 0, -1);
let lastFrom: Pid = pid(0, 0, -1);

/**
 * Decodes the envelope in `bytes[offset, offset + length)` (a ring record's payload, or the array
 * from `encodeEnvelopeToBytes`). The result shares nothing with `bytes`. Throws
 * MALFORMED_ENVELOPE (or UNKNOWN_MESSAGE_TYPE) instead of returning anything it cannot vouch for.
 */
export function decodeEnvelope(bytes: Uint8Array, offset: number, length: number): Envelope {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw malformed(`record [${offset}, ${offset + length}) lies outside the ${bytes.length} bytes given`);
  }
  if (length < ENVELOPE_HEADER_BYTES) throw malformed(`${length} bytes is shorter than the ${ENVELOPE_HEADER_BYTES}-byte header`);
  const signal = bytes[offset + EnvelopeField.SIGNAL]!;
  const flags = bytes[offset + EnvelopeField.FLAGS]!;
  const encoding = bytes[offset + EnvelopeField.ENCODING]!;
  const reserved = bytes[offset + EnvelopeField.RESERVED]!;
  if (!isSignal(signal)) throw malformed(`unknown signal ${signal}`);
  if (flags !== 0) throw malformed(`unknown flags 0x${flags.toString(16)}`);
  if (reserved !== 0) throw malformed(`reserved byte is ${reserved}, not 0`);
  const view = viewOf(bytes);
  const bodyLength = view.getUint32(offset + EnvelopeField.BODY_LENGTH, true);
  if (bodyLength !== length - ENVELOPE_HEADER_BYTES) {
    throw malformed(`header announces a ${bodyLength}-byte body but ${length - ENVELOPE_HEADER_BYTES} bytes follow (truncated or padded)`);
  }
  const toSerial = view.getFloat64(offset + EnvelopeField.TO_SERIAL, true);
  if (!Number.isSafeInteger(toSerial) || toSerial < 0) throw malformed(`to.serial is ${toSerial}`);
  const toNode = view.getUint16(offset + EnvelopeField.TO_NODE, true);
  const toShard = view.getUint16(offset + EnvelopeField.TO_SHARD, true);
  let to = lastTo;
  if (to.serial !== toSerial || to.shard !== toShard || to.node !== toNode) to = lastTo = pid(toNode, toShard, toSerial);
  const fromNode = view.getUint16(offset + EnvelopeField.FROM_NODE, true);
  const fromShard = view.getUint16(offset + EnvelopeField.FROM_SHARD, true);
  const fromSerial = view.getFloat64(offset + EnvelopeField.FROM_SERIAL, true);
  let from: Pid | undefined;
  if (fromSerial === NO_SENDER_SERIAL) {
    if (fromNode !== 0 || fromShard !== 0) throw malformed('no sender, yet from.node or from.shard is set');
  } else if (Number.isSafeInteger(fromSerial) && fromSerial >= 0) {
    from = lastFrom;
    if (from.serial !== fromSerial || from.shard !== fromShard || from.node !== fromNode) from = lastFrom = pid(fromNode, fromShard, fromSerial);
  } else {
    throw malformed(`from.serial is ${fromSerial}`);
  }
  const ref = view.getFloat64(offset + EnvelopeField.REF, true);
  if (!Number.isSafeInteger(ref) || ref < 0) throw malformed(`ref is ${ref}`);
  let payload: unknown;
  const body = offset + ENVELOPE_HEADER_BYTES;
  if (encoding === PayloadEncoding.PROTOBUF) {
    if (bodyLength < TYPE_ID_BYTES) throw malformed('protobuf payload without a type id');
    const typeId = view.getUint16(body, true);
    payload = decodePayload(encoding, typeId, bytes, body + TYPE_ID_BYTES, bodyLength - TYPE_ID_BYTES);
  } else {
    payload = decodePayload(encoding, 0, bytes, body, bodyLength);
  }
  return { signal, to, from, ref, payload };
}

/**
 * Length of the envelope at `offset` in a run ending at `end` (header plus the body its header
 * announces), or -1 when what is there is not a whole envelope (cut short, or running past `end`).
 */
export function envelopeLengthAt(bytes: Uint8Array, offset: number, end: number): number {
  if (end - offset < ENVELOPE_HEADER_BYTES) return -1;
  const at = offset + EnvelopeField.BODY_LENGTH;
  const length = ENVELOPE_HEADER_BYTES + (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000;
  return offset + length > end ? -1 : length;
}

/** The error for a run whose envelope at `at` (of `length` bytes) is not whole. */
export function malformedRun(at: number, length: number): HordeError {
  return malformed(`the envelope at byte ${at} of a ${length}-byte run is cut short or runs past its end`);
}

function bodyBytes(payload: EncodedPayload): number {
  return payload.encoding === PayloadEncoding.PROTOBUF ? TYPE_ID_BYTES + payload.length : payload.length;
}

function writeEnvelope(view: DataView, bytes: Uint8Array, offset: number, envelope: Envelope, payload: EncodedPayload, bodyLength: number): void {
  const { to, from } = envelope;
  bytes[offset + EnvelopeField.SIGNAL] = envelope.signal;
  bytes[offset + EnvelopeField.FLAGS] = 0;
  bytes[offset + EnvelopeField.ENCODING] = payload.encoding;
  bytes[offset + EnvelopeField.RESERVED] = 0;
  view.setUint16(offset + EnvelopeField.TO_NODE, to.node, true);
  view.setUint16(offset + EnvelopeField.TO_SHARD, to.shard, true);
  view.setFloat64(offset + EnvelopeField.TO_SERIAL, to.serial, true);
  if (from === undefined) {
    view.setUint16(offset + EnvelopeField.FROM_NODE, 0, true);
    view.setUint16(offset + EnvelopeField.FROM_SHARD, 0, true);
    view.setFloat64(offset + EnvelopeField.FROM_SERIAL, NO_SENDER_SERIAL, true);
  } else {
    view.setUint16(offset + EnvelopeField.FROM_NODE, from.node, true);
    view.setUint16(offset + EnvelopeField.FROM_SHARD, from.shard, true);
    view.setFloat64(offset + EnvelopeField.FROM_SERIAL, from.serial, true);
  }
  view.setUint32(offset + EnvelopeField.BODY_LENGTH, bodyLength, true);
  view.setFloat64(offset + EnvelopeField.REF, envelope.ref, true);
  let at = offset + ENVELOPE_HEADER_BYTES;
  if (payload.encoding === PayloadEncoding.PROTOBUF) {
    view.setUint16(at, payload.typeId, true);
    at += TYPE_ID_BYTES;
  }
  if (payload.text !== undefined) writeAsciiText(payload.text, bytes, at);
  else copyBytes(payload.bytes, payload.length, bytes, at);
}

/** Refuses header fields the layout cannot hold (DataView would silently wrap them). */
function checkEnvelope(envelope: Envelope): void {
  if (!isSignal(envelope.signal)) throw invalid(`signal ${String(envelope.signal)} is not a Signal`);
  if (!isPid(envelope.to)) throw invalid(`"to" is not a pid: ${describe(envelope.to)}`);
  if (envelope.from !== undefined && !isPid(envelope.from)) throw invalid(`"from" is neither a pid nor undefined: ${describe(envelope.from)}`);
  if (!Number.isSafeInteger(envelope.ref) || envelope.ref < 0) throw invalid(`ref must be a safe integer >= 0; got ${String(envelope.ref)}`);
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const { node, shard, serial } = value as Record<string, unknown>;
  return `{node: ${String(node)}, shard: ${String(shard)}, serial: ${String(serial)}}`;
}

function invalid(what: string): HordeError {
  return new HordeError(ErrorCode.INVALID_ENVELOPE, `invalid envelope: ${what}`);
}

function malformed(what: string): HordeError {
  return new HordeError(ErrorCode.MALFORMED_ENVELOPE, `malformed envelope: ${what}`);
}

/**
 * A DataView over the same bytes as `bytes`. Ring readers pass the same shared array every time:
 * views of shared buffers are remembered (the last one, then weakly); other arrays (overflow
 * copies, socket buffers) are seen once, so they get a fresh view.
 */
let lastBytes: Uint8Array | undefined;
let lastView: DataView | undefined;
const sharedViews = new WeakMap<Uint8Array, DataView>();

function viewOf(bytes: Uint8Array): DataView {
  if (bytes === lastBytes) return lastView!;
  if (!(bytes.buffer instanceof SharedArrayBuffer)) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let view = sharedViews.get(bytes);
  if (view === undefined) {
    view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    sharedViews.set(bytes, view);
  }
  lastBytes = bytes;
  lastView = view;
  return view;
}
