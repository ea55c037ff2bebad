/**
 * Registered protobuf message types: the fast, compact payload codec for messages that opt in.
 *
 * Opting in: register the type once per thread (`registerMessageType(name, protoText)`, typically
 * at the top level of the behaviour module that uses it, which every executor loads), then wrap a
 * message with `typed(type, value)`. The wrapper is a shallow copy of `value` whose prototype (one
 * per type, inheriting from Object.prototype) holds the type under a non-enumerable symbol: the
 * message keeps its own enumerable fields, `.constructor === Object`, toEqual-equality with the
 * plain value, and JSON ignores the tag. A decoded typed message is built the same way, so
 * forwarding it keeps the protobuf form; a spread copy (`{...message}`) is plain again and travels
 * as JSON unless wrapped anew. Only the payload's top level counts: a typed value nested inside a
 * JSON message travels as JSON.
 *
 * Why a prototype: tagging each message with its own symbol property costs 100 ns
 * (Object.defineProperty) to 380 ns (a symbol key in a spread literal) on the 2-core machine;
 * `Object.assign(Object.create(proto), value)` costs 28 ns.
 *
 * Type ids are not handed out in registration order (threads may register in different orders):
 * a type's id is a hash of its full name (FNV-1a 32, folded into 1..65535), the same in every
 * thread and every node that registers that name. Two names with the same hash are a conflict,
 * detected when a thread registers the second; `{id}` then pins one of them explicitly, and every
 * thread must pass the same `{id}`. A thread that never registered a name cannot detect that its
 * hash collides with a name other threads use, which is why every thread should register the same
 * set of types (let the same modules do it everywhere).
 *
 * Encoding: `type.verify(value)` and `type.encode(value)` on the plain object; when verify objects,
 * a copy with enum values given by name (as decoding gives them) and 64-bit integers given as
 * strings or bigints converted is verified instead. A value that still does not verify fails with
 * UNENCODABLE_MESSAGE and protobufjs's reason. Fields not in the schema are dropped. Decoding:
 * `type.toObject` with longs as numbers, enums as names and defaults filled in (unset message
 * fields are null). protobufjs decodes bytes fields as views of
 * its input, so types with bytes fields (at any depth) are decoded from a private copy of the
 * payload, never from the ring.
 *
 * Measured on the 2-core machine for `{seq: 42, name: 'counter'}` (uint32, string), each step
 * alone: verify 9 ns, encode 176 ns, decode + toObject 71 ns. bench/codec.ts measures the pair.
 */

import protobuf from 'protobufjs';
import { ErrorCode, HordeError } from '../errors.js';
import { PID_PROTO, PID_PROTO_PATH } from './pid-schema.js';

/** A registered message type. */
export interface MessageType {
  /** Full name without the leading dot, e.g. `demo.Counter`. */
  readonly name: string;
  /** The id written before the payload, 1..65535. */
  readonly id: number;
  /** The protobufjs Type that encodes and decodes it. */
  readonly type: protobuf.Type;
}

/** Options of `registerMessageType`. */
export interface RegisterOptions {
  /** An explicit id (1..65535) instead of the hash of the name, to settle a hash collision. */
  id?: number;
}

/** The symbol under which a typed message holds its MessageType. */
export const MESSAGE_TYPE: unique symbol = Symbol('horde.messageType');

/** A message that travels as a registered protobuf type. */
export type Typed<T extends object> = T & {
  /** The registered type, on the message's prototype (not enumerable): read it with `messageTypeOf`. */
  readonly [MESSAGE_TYPE]: MessageType;
};

interface Registered extends MessageType {
  /** True when the type has bytes fields, whose decoded views must not point into a ring. */
  readonly copyBeforeDecode: boolean;
  /** The prototype of this type's typed messages: holds MESSAGE_TYPE, non-enumerable. */
  readonly proto: object;
}

export const MIN_TYPE_ID = 1;
export const MAX_TYPE_ID = 0xffff;

const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true };

const byName = new Map<string, Registered>();
const byId = new Map<number, Registered>();
/** One root per distinct .proto text: registering several types of one text parses it once. */
const rootsByText = new Map<string, protobuf.Root>();

/**
 * Registers `name` (a message type's full name) for use with `typed`. `source` is either the
 * .proto text that defines it (proto2 or proto3; field names become camelCase as protobufjs does by
 * default; `horde.Pid` is available) or a protobufjs Type whose full name is `name`. Registering
 * the same name again with the same schema returns the same MessageType.
 */
export function registerMessageType(name: string, source: protobuf.Type | string, options: RegisterOptions = {}): MessageType {
  const fullName = name.startsWith('.') ? name.slice(1) : name;
  if (fullName === '') throw new HordeError(ErrorCode.INVALID_OPTION, 'a message type needs a name');
  const type = typeof source === 'string' ? typeFromText(fullName, source) : checkedType(fullName, source);
  const id = options.id ?? typeIdFor(fullName);
  if (!Number.isInteger(id) || id < MIN_TYPE_ID || id > MAX_TYPE_ID) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `option "id" must be an integer from ${MIN_TYPE_ID} to ${MAX_TYPE_ID}; got ${String(id)}`);
  }
  const existing = byName.get(fullName);
  if (existing !== undefined) {
    if (existing.type !== type && !sameSchema(existing.type, type)) {
      throw new HordeError(ErrorCode.MESSAGE_TYPE_CONFLICT, `message type ${fullName} is already registered with another schema`);
    }
    if (existing.id !== id) {
      throw new HordeError(ErrorCode.MESSAGE_TYPE_CONFLICT, `message type ${fullName} is already registered with id ${existing.id}, not ${id}`);
    }
    return existing;
  }
  const holder = byId.get(id);
  if (holder !== undefined) {
    throw new HordeError(
      ErrorCode.MESSAGE_TYPE_CONFLICT,
      `message types ${holder.name} and ${fullName} both want id ${id}; register one of them with an explicit {id} (the same in every thread)`,
    );
  }
  const proto = Object.create(Object.prototype) as object;
  const registered: Registered = { name: fullName, id, type, copyBeforeDecode: hasBytesFields(type, new Set()), proto };
  Object.defineProperty(proto, MESSAGE_TYPE, { value: registered });
  byName.set(fullName, registered);
  byId.set(id, registered);
  return registered;
}

/** The id a type name gets unless registered with an explicit one: FNV-1a 32 folded to 1..65535. */
export function typeIdFor(name: string): number {
  const fullName = name.startsWith('.') ? name.slice(1) : name;
  let hash = 0x811c9dc5;
  for (let i = 0; i < fullName.length; i++) {
    hash ^= fullName.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash >>> 0) % MAX_TYPE_ID) + MIN_TYPE_ID;
}

/** The registered type of that name or id, if this thread registered it. */
export function findMessageType(nameOrId: string | number): MessageType | undefined {
  if (typeof nameOrId === 'number') return byId.get(nameOrId);
  return byName.get(nameOrId.startsWith('.') ? nameOrId.slice(1) : nameOrId);
}

/**
 * Marks `value` to travel as the registered protobuf `type`: returns a shallow copy with the tag.
 * Checks the value against the schema now, so a message that would fail to encode fails here,
 * whichever thread its receiver turns out to be on.
 */
export function typed<T extends object>(type: MessageType | string, value: T): Typed<T> {
  const registered = resolve(type);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `typed(${registered.name}, value): value must be an object`);
  }
  prepare(registered, value);
  return Object.assign(Object.create(registered.proto) as object, value) as Typed<T>;
}

/** The registered type a message was tagged with by `typed`, if any. */
export function messageTypeOf(value: unknown): MessageType | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as { [MESSAGE_TYPE]?: MessageType })[MESSAGE_TYPE];
}

/** Encodes a typed message's fields (allocates the result: protobufjs's Writer has no "into"). */
export function encodeTyped(type: MessageType, value: object): Uint8Array {
  const registered = resolve(type);
  return registered.type.encode(prepare(registered, value)).finish();
}

/**
 * Decodes `bytes[offset, offset + length)` as `type` into a typed message (own enumerable fields
 * only, like `typed` makes). Throws MALFORMED_ENVELOPE when protobufjs cannot read it.
 */
export function decodeTyped(type: MessageType, bytes: Uint8Array, offset: number, length: number): object {
  const registered = resolve(type);
  const input = registered.copyBeforeDecode ? bytes.slice(offset, offset + length) : bytes.subarray(offset, offset + length);
  let message: protobuf.Message;
  try {
    message = registered.type.decode(input);
  } catch (error) {
    throw new HordeError(ErrorCode.MALFORMED_ENVELOPE, `malformed envelope: protobuf payload of type ${registered.name}: ${describe(error)}`, {
      cause: error,
    });
  }
  return Object.assign(Object.create(registered.proto) as object, registered.type.toObject(message, TO_OBJECT_OPTIONS));
}

/** The registered type by handle or name; throws UNKNOWN_MESSAGE_TYPE for a name not registered. */
function resolve(type: MessageType | string): Registered {
  if (typeof type !== 'string' && byId.get(type.id) === type) return type as Registered;
  const name = typeof type === 'string' ? type : type.name;
  const registered = byName.get(name.startsWith('.') ? name.slice(1) : name);
  if (registered === undefined || (typeof type !== 'string' && registered.type !== type.type)) {
    throw new HordeError(
      ErrorCode.UNKNOWN_MESSAGE_TYPE,
      `message type ${name} is not registered on this thread (register it in a module every thread loads)`,
    );
  }
  return registered;
}

/**
 * What to hand to `type.encode`: the value itself when it verifies, else a copy with enum names
 * turned into numbers and 64-bit integers given as decimal strings or bigints into numbers (or
 * {low, high} beyond 2^53), which must then verify. Not `type.fromObject`: it would also turn
 * `seq: 'many'` into 0 and `name: 5` into '5' without a word.
 */
function prepare(registered: Registered, value: object): object {
  const type = registered.type;
  const problem = type.verify(value);
  if (problem === null) return value;
  const normalized = normalize(type, value as Record<string, unknown>, 0);
  if (normalized === value) throw unencodable(registered, problem);
  const remaining = type.verify(normalized);
  if (remaining !== null) throw unencodable(registered, remaining);
  return normalized;
}

/** Deepest message nesting `normalize` follows (protobufjs itself recurses without a bound). */
const MAX_NORMALIZE_DEPTH = 100;

function normalize(type: protobuf.Type, value: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (depth > MAX_NORMALIZE_DEPTH) return value;
  let out: Record<string, unknown> | undefined;
  for (const field of type.fieldsArray) {
    const current = value[field.name];
    if (current === undefined || current === null) continue;
    let next: unknown = current;
    if (field.map) {
      if (typeof current === 'object' && !Array.isArray(current)) {
        const entries = Object.entries(current as Record<string, unknown>);
        const mapped = entries.map(([key, item]) => [key, normalizeValue(field, item, depth)] as const);
        if (mapped.some(([, item], i) => item !== entries[i]![1])) next = Object.fromEntries(mapped);
      }
    } else if (field.repeated && Array.isArray(current)) {
      const mapped = (current as unknown[]).map((item) => normalizeValue(field, item, depth));
      if (mapped.some((item, i) => item !== (current as unknown[])[i])) next = mapped;
    } else {
      next = normalizeValue(field, current, depth);
    }
    if (next !== current) {
      out ??= { ...value };
      out[field.name] = next;
    }
  }
  return out ?? value;
}

const INTEGER_TEXT = /^-?\d+$/;

function normalizeValue(field: protobuf.Field, value: unknown, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    return typeof value === 'string' && Object.hasOwn(resolved.values, value) ? resolved.values[value] : value;
  }
  if (resolved instanceof protobuf.Type) {
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? normalize(resolved, value as Record<string, unknown>, depth + 1) : value;
  }
  if (field.long && (typeof value === 'bigint' || (typeof value === 'string' && INTEGER_TEXT.test(value)))) {
    const big = BigInt(value);
    if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
    const bits = BigInt.asUintN(64, big);
    return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: big >= 0n };
  }
  return value;
}

function unencodable(registered: Registered, problem: string): HordeError {
  return new HordeError(ErrorCode.UNENCODABLE_MESSAGE, `message cannot be encoded as ${registered.name}: msg.${problem}`);
}

function typeFromText(fullName: string, text: string): protobuf.Type {
  const root = rootFor(text);
  const found = root.lookup(fullName);
  if (!(found instanceof protobuf.Type)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `the .proto text given for ${fullName} defines no message type of that name`);
  }
  return found;
}

function rootFor(text: string): protobuf.Root {
  const cached = rootsByText.get(text);
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  try {
    protobuf.parse(PID_PROTO, root);
    const parsed = protobuf.parse(text, root);
    const imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])].filter((path) => path !== PID_PROTO_PATH);
    if (imports.length > 0) {
      throw new HordeError(
        ErrorCode.INVALID_OPTION,
        `.proto text imports ${imports.join(', ')}: only ${PID_PROTO_PATH} is available; build a protobufjs Root yourself and register its Types`,
      );
    }
    root.resolveAll();
  } catch (error) {
    if (error instanceof HordeError) throw error;
    throw new HordeError(ErrorCode.INVALID_OPTION, `invalid .proto text: ${describe(error)}`, { cause: error });
  }
  rootsByText.set(text, root);
  return root;
}

function checkedType(fullName: string, type: protobuf.Type): protobuf.Type {
  if (!(type instanceof protobuf.Type)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `message type ${fullName}: expected .proto text or a protobufjs Type`);
  }
  const typeName = type.fullName.startsWith('.') ? type.fullName.slice(1) : type.fullName;
  if (typeName !== fullName) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `registering ${fullName} with a protobufjs Type named ${typeName}`);
  }
  try {
    type.resolveAll();
  } catch (error) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `message type ${fullName} does not resolve: ${describe(error)}`, { cause: error });
  }
  return type;
}

function sameSchema(a: protobuf.Type, b: protobuf.Type): boolean {
  return JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON());
}

function hasBytesFields(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.type === 'bytes') return true;
    if (field.resolvedType instanceof protobuf.Type && hasBytesFields(field.resolvedType, seen)) return true;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
