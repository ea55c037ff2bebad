/**
 * Payload codecs: how the message value inside an envelope becomes bytes, and back.
 *
 * The sender picks the encoding per message:
 *
 * | encoding    | when                                   | bytes                                   |
 * | ----------- | -------------------------------------- | --------------------------------------- |
 * | NONE        | the payload is undefined               | none                                    |
 * | JSON        | `isPlainJson` (json.ts)                | UTF-8 of JSON.stringify(value)          |
 * | PROTOBUF    | the value was wrapped by `typed`       | the registered type's protobuf encoding |
 * | TAGGED_JSON | anything else that can be carried      | UTF-8 of the tagged form (json.ts)      |
 * | ASCII       | a string of ASCII characters only      | the characters, one byte each           |
 *
 * For PROTOBUF the envelope also carries the type id (see envelope.ts); `decodePayload` looks it
 * up among the types this thread registered.
 *
 * ASCII strings (the common string message) skip JSON both ways: encoding checks the characters
 * (`Buffer.byteLength`, 14 ns for 64) and, once the ring has reserved the record, writes them
 * (`writeAsciiText`: Buffer#write latin1, 48 ns for 64; a loop for short ones); decoding checks that every byte is below 0x80 four at a time and reads
 * them as latin1. Measured on a two-node cluster run of 64-character strings: about 300 ns less
 * per message on the sending executor and 300 ns less on the receiving one than JSON.
 *
 * `encodePayload` answers with one reused object whose bytes may be the per-thread UTF-8 scratch:
 * the caller copies them out before encoding anything else. It never uses v8.serialize (0.2M
 * pairs/s; see bench/codec.ts).
 */

import { ErrorCode, HordeError } from '../errors.js';
import { BufferView } from '../internal/buffer-view.js';
import { fromTagged, isPlainJson, toTagged } from './json.js';
import { decodeTyped, encodeTyped, findMessageType, messageTypeOf } from './protobuf.js';
import { decodeLatin1, decodeUtf8, encodeUtf8, isAsciiBytes } from './utf8.js';

export const PayloadEncoding = {
  NONE: 0,
  JSON: 1,
  PROTOBUF: 2,
  TAGGED_JSON: 3,
  ASCII: 4,
} as const;

export type PayloadEncoding = (typeof PayloadEncoding)[keyof typeof PayloadEncoding];

/** One encoded payload: `bytes[0, length)`. Valid until the next `encodePayload` on this thread. */
export interface EncodedPayload {
  encoding: PayloadEncoding;
  /** The registered type's id for PROTOBUF, else 0. */
  typeId: number;
  bytes: Uint8Array;
  length: number;
  /** ASCII: the string itself (`bytes` is empty; `writeAsciiText` writes it), else undefined. */
  text: string | undefined;
}

const EMPTY = new Uint8Array(0);
const encoded: EncodedPayload = { encoding: PayloadEncoding.NONE, typeId: 0, bytes: EMPTY, length: 0, text: undefined };

/**
 * Encodes a message value. Throws a HordeError with code UNENCODABLE_MESSAGE (naming the path of
 * the bad value) when it cannot be carried. The answer is reused by the next call.
 */
export function encodePayload(value: unknown): EncodedPayload {
  encoded.text = undefined;
  if (value === undefined) {
    encoded.encoding = PayloadEncoding.NONE;
    encoded.typeId = 0;
    encoded.bytes = EMPTY;
    encoded.length = 0;
    return encoded;
  }
  const type = messageTypeOf(value);
  if (type !== undefined) {
    const bytes = encodeTyped(type, value as object);
    encoded.encoding = PayloadEncoding.PROTOBUF;
    encoded.typeId = type.id;
    encoded.bytes = bytes;
    encoded.length = bytes.length;
    return encoded;
  }
  if (typeof value === 'string' && isAscii(value)) {
    encoded.encoding = PayloadEncoding.ASCII;
    encoded.typeId = 0;
    encoded.bytes = EMPTY;
    encoded.length = value.length;
    encoded.text = value;
    return encoded;
  }
  let text: string;
  if (isPlainJson(value)) {
    text = JSON.stringify(value);
    encoded.encoding = PayloadEncoding.JSON;
  } else {
    text = JSON.stringify(toTagged(value));
    encoded.encoding = PayloadEncoding.TAGGED_JSON;
  }
  const utf8 = encodeUtf8(text);
  encoded.typeId = 0;
  encoded.bytes = utf8.bytes;
  encoded.length = utf8.length;
  return encoded;
}

/** True when every character is below 0x80: only then is the UTF-8 length the string's length. */
function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/** Up to this many characters a loop writes them faster than a native call does. */
const SHORT_TEXT = 24;
/** A Buffer over the ring ASCII text is written into (see BufferView). */
const textView = new BufferView();

/** Writes the ASCII `text` of an encoded payload to `target` at `offset`. */
export function writeAsciiText(text: string, target: Uint8Array, offset: number): void {
  if (text.length <= SHORT_TEXT) {
    for (let i = 0; i < text.length; i++) target[offset + i] = text.charCodeAt(i);
  } else {
    (target instanceof Buffer ? target : textView.of(target)).write(text, offset, 'latin1');
  }
}

/**
 * Decodes `bytes[offset, offset + length)` written with `encoding` (and `typeId` for PROTOBUF).
 * Throws MALFORMED_ENVELOPE when the bytes are not what the encoding says, UNKNOWN_MESSAGE_TYPE
 * for a type id this thread has not registered.
 */
export function decodePayload(encoding: number, typeId: number, bytes: Uint8Array, offset: number, length: number): unknown {
  switch (encoding) {
    case PayloadEncoding.NONE:
      if (length !== 0) throw malformed(`an empty payload has ${length} bytes`);
      return undefined;
    case PayloadEncoding.JSON:
      return parseJson(bytes, offset, length);
    case PayloadEncoding.ASCII:
      if (!isAsciiBytes(bytes, offset, length)) throw malformed('an ASCII payload has a byte above 0x7f');
      return decodeLatin1(bytes, offset, offset + length);
    case PayloadEncoding.TAGGED_JSON:
      return fromTagged(parseJson(bytes, offset, length));
    case PayloadEncoding.PROTOBUF: {
      const type = findMessageType(typeId);
      if (type === undefined) {
        throw new HordeError(
          ErrorCode.UNKNOWN_MESSAGE_TYPE,
          `message type id ${typeId} is not registered on this thread (is the module that registers it loaded here?)`,
        );
      }
      return decodeTyped(type, bytes, offset, length);
    }
    default:
      throw malformed(`unknown payload encoding ${encoding}`);
  }
}

function parseJson(bytes: Uint8Array, offset: number, length: number): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes, offset, length));
  } catch (error) {
    throw malformed(`JSON payload: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

function malformed(what: string, cause?: unknown): HordeError {
  return new HordeError(ErrorCode.MALFORMED_ENVELOPE, `malformed envelope: ${what}`, cause === undefined ? undefined : { cause });
}
