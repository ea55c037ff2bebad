/**
 * The client protocol's messages (schema in client.proto, loaded with protobufjs) and the
 * conversions both ends share: frames to and from bytes, JSON payloads, failures to and from
 * HordeErrors. Pure: no sockets here.
 */

import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { ErrorCode, HordeError, errorToWire, type WireError } from '../errors.js';
import { encodeFrame } from '../net/framing.js';

export interface Failure {
  code: string;
  message: string;
  cause?: Failure | null;
}

export interface RequestFrame {
  id: number;
  service: string;
  payload: Uint8Array;
  timeoutMs: number;
}

export type ReplyFrame = { id: number; value: Uint8Array } | { id: number; failure: Failure };

/** `idle`: the goodbye of a connection closed with nothing in flight (see client.proto's Goodbye). */
export type ServerMessage = { reply: ReplyFrame } | { goodbye: Failure; idle?: boolean };

/** Default most bytes of one frame, both ways (1 MiB). */
export const GATEWAY_MAX_FRAME_BYTES = 1024 * 1024;
/** How many causes deep a failure travels. */
const MAX_FAILURE_DEPTH = 4;

const root = protobuf.parse(readFileSync(new URL('./client.proto', import.meta.url), 'utf8'), { keepCase: false }).root;
const ClientFrame = root.lookupType('horde.gateway.ClientFrame');
const ServerFrame = root.lookupType('horde.gateway.ServerFrame');

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** A request as one length-prefixed frame. */
export function encodeRequest(request: RequestFrame, maxFrameBytes: number): Uint8Array {
  const bytes = ClientFrame.encode({ request }).finish();
  return encodeFrame(bytes, maxFrameBytes);
}

/**
 * The request in a frame's bytes. Throws HORDE_BAD_REQUEST when the bytes are not a ClientFrame
 * holding a request (the gateway closes that connection).
 */
export function decodeRequest(bytes: Uint8Array): RequestFrame {
  let frame: protobuf.Message & { request?: RequestFrame | null };
  try {
    frame = ClientFrame.decode(bytes);
  } catch (error) {
    throw new HordeError(ErrorCode.BAD_REQUEST, `malformed frame: ${(error as Error).message}`, { cause: error });
  }
  const request = frame.request;
  if (request === undefined || request === null) throw new HordeError(ErrorCode.BAD_REQUEST, 'malformed frame: no request in it');
  return { id: request.id, service: request.service, payload: request.payload, timeoutMs: request.timeoutMs };
}

/** A gateway message as one length-prefixed frame (throws HORDE_FRAME_TOO_LARGE over the limit). */
export function encodeServerMessage(message: ServerMessage, maxFrameBytes: number): Uint8Array {
  const frame = 'reply' in message ? message : { goodbye: { reason: message.goodbye, idle: message.idle === true } };
  return encodeFrame(ServerFrame.encode(frame).finish(), maxFrameBytes);
}

/** A gateway frame's message. Throws HORDE_BAD_REQUEST for bytes that are not one. */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  let frame: protobuf.Message & { reply?: (ReplyFrame & { result?: string }) | null; goodbye?: { reason?: Failure | null; idle?: boolean } | null };
  try {
    frame = ServerFrame.decode(bytes);
  } catch (error) {
    throw new HordeError(ErrorCode.BAD_REQUEST, `malformed frame from the gateway: ${(error as Error).message}`, { cause: error });
  }
  if (frame.reply !== undefined && frame.reply !== null) {
    const reply = frame.reply;
    if ('failure' in reply && reply.failure !== undefined && reply.failure !== null) return { reply: { id: reply.id, failure: reply.failure } };
    return { reply: { id: reply.id, value: 'value' in reply ? reply.value : EMPTY } };
  }
  if (frame.goodbye !== undefined && frame.goodbye !== null) {
    const goodbye = frame.goodbye.reason ?? { code: ErrorCode.UNKNOWN, message: 'the gateway gave no reason' };
    return frame.goodbye.idle === true ? { goodbye, idle: true } : { goodbye };
  }
  throw new HordeError(ErrorCode.BAD_REQUEST, 'malformed frame from the gateway: neither a reply nor a goodbye');
}

/** A JSON value as UTF-8 bytes (undefined: empty). Throws HORDE_UNENCODABLE_MESSAGE otherwise. */
export function encodeJson(value: unknown): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new HordeError(ErrorCode.UNENCODABLE_MESSAGE, `not a JSON value: ${(error as Error).message}`, { cause: error });
  }
  return text === undefined ? EMPTY : utf8Encoder.encode(text);
}

/** UTF-8 JSON bytes back to a value (empty: undefined). Throws HORDE_BAD_REQUEST when they are not. */
export function decodeJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(utf8Decoder.decode(bytes)) as unknown;
  } catch (error) {
    throw new HordeError(ErrorCode.BAD_REQUEST, `payload is not UTF-8 JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** Any error as a failure record (code, message, causes to a bounded depth; no stacks). */
export function toFailure(error: unknown): Failure {
  return fromWire(errorToWire(error), 0);
}

function fromWire(wire: WireError, depth: number): Failure {
  const failure: Failure = { code: wire.code, message: wire.message };
  if (wire.cause !== undefined && depth < MAX_FAILURE_DEPTH) failure.cause = fromWire(wire.cause, depth + 1);
  return failure;
}

/** A failure record as a HordeError with the same code and causes. */
export function failureToError(failure: Failure): HordeError {
  const cause = failure.cause === undefined || failure.cause === null ? undefined : failureToError(failure.cause);
  // No stack trace: it would only name the socket's data handler, and capturing one costs about
  // 9 us, which a client shed tens of thousands of times a second cannot afford.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HordeError(failure.code || ErrorCode.UNKNOWN, failure.message, cause === undefined ? undefined : { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
