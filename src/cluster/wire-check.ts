/**
 * Validation of the cluster's replicated state as it arrives from a peer (untrusted input). Every
 * check throws HordeError HORDE_MALFORMED_FRAME naming what was wrong, and nothing else: callers
 * close the connection with that reason. Wire forms use arrays of tuples rather than objects keyed
 * by peer-chosen strings, so a key such as `__proto__` is plain data, never a prototype change.
 */
import { ErrorCode, HordeError } from '../errors.js';

/** A JSON value: what every wire form is made of. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** How deep a JSON value carried in replicated state may nest. */
export const MAX_JSON_DEPTH = 32;

const encoder = new TextEncoder();

export function malformed(what: string): never {
  throw new HordeError(ErrorCode.MALFORMED_FRAME, `malformed cluster state: ${what}`);
}

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * True when `text` takes more than `maxBytes` in UTF-8. A UTF-16 code unit takes 1 to 3 bytes, so
 * the encoding is needed only for lengths between maxBytes / 3 and maxBytes.
 */
function tooLong(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  return text.length * 3 > maxBytes && utf8Bytes(text) > maxBytes;
}

/** A plain object (prototype Object.prototype or null, not an array). */
export function expectRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(`${what} is not an object`);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) malformed(`${what} is not a plain object`);
  return value as Record<string, unknown>;
}

/** An own property of a record (never one inherited from its prototype). */
export function field(record: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined;
}

export function expectArray(value: unknown, what: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) malformed(`${what} is not an array`);
  if (value.length > maxLength) malformed(`${what} has ${value.length} items, more than ${maxLength}`);
  return value;
}

/** An array of exactly `length` items (a tuple). */
export function expectTuple(value: unknown, what: string, length: number): unknown[] {
  const items = expectArray(value, what, length);
  if (items.length !== length) malformed(`${what} has ${items.length} items, not ${length}`);
  return items;
}

/** A string of 1 to `maxBytes` UTF-8 bytes (or 0 when `allowEmpty`). */
export function expectString(value: unknown, what: string, maxBytes: number, allowEmpty = false): string {
  if (typeof value !== 'string') malformed(`${what} is not a string`);
  if (value.length === 0 && !allowEmpty) malformed(`${what} is empty`);
  if (tooLong(value, maxBytes)) malformed(`${what} is longer than ${maxBytes} bytes`);
  return value;
}

export function expectInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    malformed(`${what} is not an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Checks that `value` is a JSON value no deeper than MAX_JSON_DEPTH whose JSON text is at most
 * `maxBytes`, and returns a fresh deep copy of it (so later changes by the sender's caller cannot
 * reach the replicated state), frozen. Throws HORDE_MALFORMED_FRAME.
 */
export function expectJson(value: unknown, what: string, maxBytes: number): JsonValue {
  checkJsonShape(value, what, 0);
  const text = JSON.stringify(value);
  if (tooLong(text, maxBytes)) malformed(`${what} is larger than ${maxBytes} bytes of JSON`);
  return deepFreeze(JSON.parse(text) as JsonValue);
}

/**
 * The same check for a value given by a local caller: a value that is not JSON is
 * HORDE_INVALID_OPTION, one over `maxBytes` is HORDE_STATE_LIMIT. Returns a frozen deep copy.
 */
export function localJson(value: unknown, what: string, maxBytes: number): JsonValue {
  try {
    checkJsonShape(value, what, 0);
  } catch (error) {
    throw new HordeError(ErrorCode.INVALID_OPTION, (error as Error).message.replace('malformed cluster state: ', ''), { cause: error });
  }
  const text = JSON.stringify(value);
  if (tooLong(text, maxBytes)) {
    throw new HordeError(ErrorCode.STATE_LIMIT, `${what} is larger than ${maxBytes} bytes of JSON`);
  }
  return deepFreeze(JSON.parse(text) as JsonValue);
}

/** Freezes a fresh JSON copy, so a value handed out by a replicated structure cannot be changed in place. */
function deepFreeze(value: JsonValue): JsonValue {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** A string given by a local caller: 1 to `maxBytes` UTF-8 bytes, else HORDE_INVALID_OPTION. */
export function localString(value: unknown, what: string, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0 || tooLong(value, maxBytes)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `${what} must be a non-empty string of at most ${maxBytes} bytes; got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
  }
  return value;
}

function checkJsonShape(value: unknown, what: string, depth: number): void {
  if (depth > MAX_JSON_DEPTH) malformed(`${what} nests deeper than ${MAX_JSON_DEPTH}`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) malformed(`${what} holds a non-finite number`);
      return;
    case 'object':
      break;
    default:
      malformed(`${what} holds a ${typeof value}, which is not JSON`);
  }
  if (value === null) return;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) malformed(`${what} holds an array of another kind`);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) malformed(`${what} holds a sparse array`);
      checkJsonShape(value[i], what, depth + 1);
    }
    return;
  }
  const record = expectRecord(value, what);
  if (Object.getOwnPropertySymbols(record).length > 0) malformed(`${what} holds symbol keys`);
  for (const key of Object.keys(record)) {
    const descriptor = Object.getOwnPropertyDescriptor(record, key);
    if (descriptor === undefined || !('value' in descriptor)) malformed(`${what} holds an accessor property`);
    checkJsonShape(descriptor.value, what, depth + 1);
  }
}

/** Runs a structure's own validation on wire input, turning any stray error into MALFORMED_FRAME. */
export function parseWire<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof HordeError && error.code === ErrorCode.MALFORMED_FRAME) throw error;
    throw new HordeError(ErrorCode.MALFORMED_FRAME, `malformed cluster state: ${what} (${String(error)})`, { cause: error });
  }
}
