/**
 * The cluster wire format: `Frame` messages of wire.proto, encoded with protobufjs.
 *
 * `decodeFrame` turns untrusted bytes into a checked `WireFrame` (a discriminated union) or throws
 * HORDE_MALFORMED_FRAME: no field of an unexpected type or size ever reaches the cluster server.
 * 64-bit sequence numbers become numbers (safe integers; a larger one is malformed).
 *
 * The two frames of the hot path, Batch and Ack, are also written and read by hand
 * (`encodeBatchFrame`, `encodeAckFrame`, and a fast path in `decodeFrame`): the same protobuf
 * bytes protobufjs makes and reads, built straight into one buffer with the length prefix, with
 * no intermediate objects. Anything the fast path does not recognise goes to protobufjs.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ErrorCode, HordeError } from '../errors.js';

/** Bumped when an older node could not understand what a newer one sends. */
export const PROTOCOL_VERSION = 1;

const schema = protobuf.parse(readFileSync(new URL('./wire.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
const FrameType = schema.lookupType('horde.cluster.Frame');

export const Role = { MEMBER: 1, STATUS: 2 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface Hello {
  version: number;
  name: string;
  node_id: number;
  incarnation: string;
  challenge: Uint8Array;
  role: Role;
  host: string;
  port: number;
}

export type WireFrame =
  | { kind: 'hello'; hello: Hello }
  | { kind: 'auth'; proof: Uint8Array }
  | { kind: 'resume'; peerIncarnation: string; receivedSeq: number; receivedBulkSeq: number }
  | { kind: 'batch'; seq: number; data: Uint8Array; last: boolean; ack: number; lane: number }
  | { kind: 'ack'; seq: number; lane: number }
  | { kind: 'heartbeat'; sentAtMs: number }
  | { kind: 'gossip'; membership?: unknown; directory?: unknown; metadata?: unknown }
  | { kind: 'bye'; reason: string; leaving: boolean }
  | { kind: 'status_request' }
  | { kind: 'status_reply'; status: unknown };

const MAX_NAME_BYTES = 255;
const MAX_TEXT_BYTES = 1024;

export function encodeFrame(frame: WireFrame): Uint8Array {
  return FrameType.encode(FrameType.fromObject(toProto(frame))).finish();
}

function json(value: unknown): Uint8Array | undefined {
  return value === undefined ? undefined : Buffer.from(JSON.stringify(value), 'utf8');
}

function toProto(frame: WireFrame): Record<string, unknown> {
  switch (frame.kind) {
    case 'hello':
      return { hello: frame.hello };
    case 'auth':
      return { auth: { proof: frame.proof } };
    case 'resume':
      return { resume: { peer_incarnation: frame.peerIncarnation, received_seq: frame.receivedSeq, received_bulk_seq: frame.receivedBulkSeq } };
    case 'batch':
      return { batch: { seq: frame.seq, data: frame.data, last: frame.last, ack: frame.ack, lane: frame.lane } };
    case 'ack':
      return { ack: { seq: frame.seq, lane: frame.lane } };
    case 'heartbeat':
      return { heartbeat: { sent_at_ms: frame.sentAtMs } };
    case 'gossip':
      return { gossip: { membership: json(frame.membership), directory: json(frame.directory), metadata: json(frame.metadata) } };
    case 'bye':
      return { bye: { reason: frame.reason, leaving: frame.leaving } };
    case 'status_request':
      return { status_request: {} };
    case 'status_reply':
      return { status_reply: { json: json(frame.status) } };
  }
}

function malformed(message: string, cause?: unknown): HordeError {
  return new HordeError(ErrorCode.MALFORMED_FRAME, message, cause === undefined ? undefined : { cause });
}

function seqOf(value: unknown, field: string): number {
  const n = typeof value === 'number' ? value : isLong(value) ? value.toNumber() : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw malformed(`${field} is not a safe non-negative integer`);
  return n;
}

function isLong(value: unknown): value is { toNumber(): number } {
  return typeof value === 'object' && value !== null && typeof (value as { toNumber?: unknown }).toNumber === 'function';
}

function text(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || Buffer.byteLength(value) > max) throw malformed(`${field} must be a string of at most ${max} bytes`);
  return value;
}

function parseJson(bytes: unknown, field: string): unknown {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as unknown;
  } catch (error) {
    throw malformed(`${field} is not JSON`, error);
  }
}

// Protobuf tags: (field << 3) | wire type. Frame.batch = 4, Frame.ack = 5 (length-delimited);
// Batch.seq = 1, Batch.ack = 4, Ack.seq = 1 (varint); Batch.data = 2 (length-delimited);
// Batch.last = 3 (varint).
const TAG_FRAME_BATCH = (4 << 3) | 2;
const TAG_FRAME_ACK = (5 << 3) | 2;
const TAG_SEQ = (1 << 3) | 0;
const TAG_DATA = (2 << 3) | 2;
const TAG_LAST = (3 << 3) | 0;
const TAG_BATCH_ACK = (4 << 3) | 0;
const TAG_BATCH_LANE = (5 << 3) | 0;
const TAG_ACK_LANE = (2 << 3) | 0;

function varintBytes(value: number): number {
  let n = 1;
  for (let v = value; v >= 128; v = Math.floor(v / 128)) n++;
  return n;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 128) {
    out[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * The head of a Batch frame: the length prefix, then Frame{batch{seq, last, ack, data}} up to
 * (not including) the data bytes, which the caller writes right after it (no copy of the data).
 * Fields are in the order seq, last, ack, data: protobuf readers take fields in any order.
 */
export function encodeBatchHead(seq: number, dataLength: number, last: boolean, ack: number, lane = 0): Buffer {
  const fields = 1 + varintBytes(seq) + (last ? 2 : 0) + (ack > 0 ? 1 + varintBytes(ack) : 0) + (lane > 0 ? 1 + varintBytes(lane) : 0) + 1 + varintBytes(dataLength);
  const body = fields + dataLength;
  const total = 1 + varintBytes(body) + body;
  const head = Buffer.allocUnsafe(4 + total - dataLength);
  head.writeUInt32BE(total, 0);
  let at = 4;
  head[at++] = TAG_FRAME_BATCH;
  at = writeVarint(head, at, body);
  head[at++] = TAG_SEQ;
  at = writeVarint(head, at, seq);
  if (last) {
    head[at++] = TAG_LAST;
    head[at++] = 1;
  }
  if (ack > 0) {
    head[at++] = TAG_BATCH_ACK;
    at = writeVarint(head, at, ack);
  }
  if (lane > 0) {
    head[at++] = TAG_BATCH_LANE;
    at = writeVarint(head, at, lane);
  }
  head[at++] = TAG_DATA;
  writeVarint(head, at, dataLength);
  return head;
}

/** A whole Batch frame in one buffer (head and data): tests and small frames. */
export function encodeBatchFrame(seq: number, data: Uint8Array, last: boolean, ack: number, lane = 0): Buffer {
  return Buffer.concat([encodeBatchHead(seq, data.length, last, ack, lane), data]);
}

/** Decodes with protobufjs only (no hand-written fast path): tests compare the two. */
export function decodeFrameWithProtobufjs(bytes: Uint8Array): WireFrame {
  return decodeGeneral(bytes);
}

/** A whole Ack frame, length prefix included. */
export function encodeAckFrame(seq: number, lane = 0): Buffer {
  const body = 1 + varintBytes(seq) + (lane > 0 ? 1 + varintBytes(lane) : 0);
  const total = 1 + varintBytes(body) + body;
  const out = Buffer.allocUnsafe(4 + total);
  out.writeUInt32BE(total, 0);
  let at = 4;
  out[at++] = TAG_FRAME_ACK;
  at = writeVarint(out, at, body);
  out[at++] = TAG_SEQ;
  at = writeVarint(out, at, seq);
  if (lane > 0) {
    out[at++] = TAG_ACK_LANE;
    writeVarint(out, at, lane);
  }
  return out;
}

/** A varint at `at`, as [value, next offset], or undefined when it runs past `end` or beyond 2^53. */
function readVarint(bytes: Uint8Array, at: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 8; i++) {
    const byte = bytes[i]!;
    value += (byte & 127) * scale;
    if (byte < 128) return Number.isSafeInteger(value) ? [value, i + 1] : undefined;
    scale *= 128;
  }
  return undefined;
}

/** The hand-read Batch and Ack frames; undefined hands the bytes to protobufjs. */
function decodeHotFrame(bytes: Uint8Array): WireFrame | undefined {
  const tag = bytes[0];
  if (tag !== TAG_FRAME_BATCH && tag !== TAG_FRAME_ACK) return undefined;
  const length = readVarint(bytes, 1, bytes.length);
  if (length === undefined || length[1] + length[0] !== bytes.length) return undefined;
  let at = length[1];
  const end = bytes.length;
  let seq = 0;
  let ack = 0;
  let lane = 0;
  let last = false;
  let data: Uint8Array | undefined;
  const batch = tag === TAG_FRAME_BATCH;
  while (at < end) {
    const field = bytes[at++];
    const varintField = field === TAG_SEQ || (batch ? field === TAG_LAST || field === TAG_BATCH_ACK || field === TAG_BATCH_LANE : field === TAG_ACK_LANE);
    if (varintField) {
      const value = readVarint(bytes, at, end);
      if (value === undefined) return undefined;
      at = value[1];
      if (field === TAG_SEQ) seq = value[0];
      else if (field === TAG_LAST) last = value[0] !== 0;
      else if (field === TAG_BATCH_ACK) ack = value[0];
      else lane = value[0];
    } else if (field === TAG_DATA && batch) {
      const size = readVarint(bytes, at, end);
      if (size === undefined || size[1] + size[0] > end) return undefined;
      data = bytes.subarray(size[1], size[1] + size[0]);
      at = size[1] + size[0];
    } else {
      return undefined;
    }
  }
  if (!batch) return { kind: 'ack', seq, lane };
  return { kind: 'batch', seq, data: data ?? new Uint8Array(0), last, ack, lane };
}

/** Decodes one frame's bytes; throws HORDE_MALFORMED_FRAME on anything that is not a valid Frame. */
export function decodeFrame(bytes: Uint8Array): WireFrame {
  return decodeHotFrame(bytes) ?? decodeGeneral(bytes);
}

function decodeGeneral(bytes: Uint8Array): WireFrame {
  let message: Record<string, unknown>;
  try {
    message = FrameType.decode(bytes);
  } catch (error) {
    throw malformed(`undecodable frame: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const body = (FrameType.oneofs.body!.oneof).find((name) => message[name] !== undefined && message[name] !== null);
  const part = (body === undefined ? {} : message[body]) as Record<string, unknown>;
  switch (body) {
    case 'hello': {
      const version = part.version;
      const nodeId = part.node_id;
      const port = part.port;
      const challenge = part.challenge;
      const role = part.role;
      if (typeof version !== 'number' || typeof nodeId !== 'number' || typeof port !== 'number') throw malformed('hello has non-numeric fields');
      if (!(challenge instanceof Uint8Array)) throw malformed('hello.challenge is not bytes');
      if (role !== Role.MEMBER && role !== Role.STATUS) throw malformed(`hello.role ${String(role)} is unknown`);
      return {
        kind: 'hello',
        hello: {
          version,
          name: text(part.name, 'hello.name', MAX_NAME_BYTES),
          node_id: nodeId,
          incarnation: text(part.incarnation, 'hello.incarnation', 64),
          challenge,
          role,
          host: text(part.host, 'hello.host', MAX_NAME_BYTES),
          port,
        },
      };
    }
    case 'auth':
      if (!(part.proof instanceof Uint8Array)) throw malformed('auth.proof is not bytes');
      return { kind: 'auth', proof: part.proof };
    case 'resume':
      return {
        kind: 'resume',
        peerIncarnation: text(part.peer_incarnation, 'resume.peer_incarnation', 64),
        receivedSeq: seqOf(part.received_seq, 'resume.received_seq'),
        receivedBulkSeq: seqOf(part.received_bulk_seq, 'resume.received_bulk_seq'),
      };
    case 'batch':
      if (!(part.data instanceof Uint8Array)) throw malformed('batch.data is not bytes');
      return { kind: 'batch', seq: seqOf(part.seq, 'batch.seq'), data: part.data, last: part.last === true, ack: seqOf(part.ack, 'batch.ack'), lane: typeof part.lane === 'number' ? part.lane : 0 };
    case 'ack':
      return { kind: 'ack', seq: seqOf(part.seq, 'ack.seq'), lane: typeof part.lane === 'number' ? part.lane : 0 };
    case 'heartbeat':
      return { kind: 'heartbeat', sentAtMs: typeof part.sent_at_ms === 'number' ? part.sent_at_ms : 0 };
    case 'gossip':
      return {
        kind: 'gossip',
        membership: parseJson(part.membership, 'gossip.membership'),
        directory: parseJson(part.directory, 'gossip.directory'),
        metadata: parseJson(part.metadata, 'gossip.metadata'),
      };
    case 'bye':
      return { kind: 'bye', reason: text(part.reason, 'bye.reason', MAX_TEXT_BYTES), leaving: part.leaving === true };
    case 'status_request':
      return { kind: 'status_request' };
    case 'status_reply':
      return { kind: 'status_reply', status: parseJson(part.json, 'status_reply.json') };
    default:
      throw malformed('frame has no body');
  }
}
