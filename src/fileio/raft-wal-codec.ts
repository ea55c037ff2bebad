/**
 * The payloads of the Raft write-ahead log's records. Each is the payload of one DurableLog record
 * (log.ts frames it: length, CRC32C of the payload, CRC32C of the header), so a record is whole
 * or absent after a crash and never read back damaged.
 *
 * Layout (little-endian; numbers are f64 holding safe integers, names are u8 length + ASCII):
 * ```
 *   u8 kind, then by kind:
 *   1 entries     name, f64 firstIndex, u8 hasHardState, [hardState], u32 count, count x (f64 term, u32 length, bytes)
 *   2 hardState   name, hardState
 *   3 truncate    name, f64 fromIndex
 *   4 snapshot    name, f64 index, f64 term
 *   5 group       name, hardState, f64 snapshotIndex, f64 snapshotTerm   (a checkpoint: written at the start of each WAL file)
 *   hardState = f64 term, f64 commit, u16 voteLength (0xffff: null), vote UTF-8
 * ```
 * A payload that does not decode (its checksum held, so a bug or another format) is HORDE_LOG_CORRUPT.
 */

import { ErrorCode, HordeError } from '../errors.js';
import type { RaftEntry, RaftHardState } from './raft-storage.js';

/** A decoded WAL record. */
export type WalRecord =
  | { kind: 'entries'; group: string; firstIndex: number; hardState: RaftHardState | undefined; entries: RaftEntry[] }
  | { kind: 'hardState'; group: string; hardState: RaftHardState }
  | { kind: 'truncate'; group: string; fromIndex: number }
  | { kind: 'snapshot'; group: string; index: number; term: number }
  | { kind: 'group'; group: string; hardState: RaftHardState; snapshotIndex: number; snapshotTerm: number };

const KIND = { entries: 1, hardState: 2, truncate: 3, snapshot: 4, group: 5 } as const;
const NULL_VOTE = 0xffff;
/** Bytes of an entry's header in an entries record (term and length). */
export const ENTRY_OVERHEAD = 12;

/** Encoded size of a hard state. */
function hardStateBytes(hs: RaftHardState): number {
  return 18 + (hs.vote === null ? 0 : Buffer.byteLength(hs.vote, 'utf8'));
}

/**
 * Encodes one record into a fresh buffer. With `views`, an entries record gets an ArrayBuffer of
 * its own and each entry's bytes in it are pushed to `views` (the store keeps those, not copies).
 */
export function encodeWal(record: WalRecord, views?: Uint8Array[]): Uint8Array {
  const name = record.group;
  let size = 2 + name.length;
  switch (record.kind) {
    case 'entries':
      size += 8 + 1 + (record.hardState === undefined ? 0 : hardStateBytes(record.hardState)) + 4;
      for (const entry of record.entries) size += ENTRY_OVERHEAD + entry.data.length;
      break;
    case 'hardState':
      size += hardStateBytes(record.hardState);
      break;
    case 'truncate':
      size += 8;
      break;
    case 'snapshot':
      size += 16;
      break;
    case 'group':
      size += hardStateBytes(record.hardState) + 16;
      break;
  }
  const out = views === undefined ? Buffer.allocUnsafe(size) : Buffer.allocUnsafeSlow(size);
  let at = out.writeUInt8(KIND[record.kind], 0);
  at = out.writeUInt8(name.length, at);
  at += out.write(name, at, 'latin1');
  const writeHardState = (hs: RaftHardState): void => {
    at = out.writeDoubleLE(hs.term, at);
    at = out.writeDoubleLE(hs.commit, at);
    if (hs.vote === null) {
      at = out.writeUInt16LE(NULL_VOTE, at);
    } else {
      const length = Buffer.byteLength(hs.vote, 'utf8');
      at = out.writeUInt16LE(length, at);
      at += out.write(hs.vote, at, 'utf8');
    }
  };
  switch (record.kind) {
    case 'entries':
      at = out.writeDoubleLE(record.firstIndex, at);
      at = out.writeUInt8(record.hardState === undefined ? 0 : 1, at);
      if (record.hardState !== undefined) writeHardState(record.hardState);
      at = out.writeUInt32LE(record.entries.length, at);
      for (const entry of record.entries) {
        at = out.writeDoubleLE(entry.term, at);
        at = out.writeUInt32LE(entry.data.length, at);
        out.set(entry.data, at);
        views?.push(new Uint8Array(out.buffer, out.byteOffset + at, entry.data.length));
        at += entry.data.length;
      }
      break;
    case 'hardState':
      writeHardState(record.hardState);
      break;
    case 'truncate':
      at = out.writeDoubleLE(record.fromIndex, at);
      break;
    case 'snapshot':
      at = out.writeDoubleLE(record.index, at);
      at = out.writeDoubleLE(record.term, at);
      break;
    case 'group':
      writeHardState(record.hardState);
      at = out.writeDoubleLE(record.snapshotIndex, at);
      at = out.writeDoubleLE(record.snapshotTerm, at);
      break;
  }
  if (at !== size) throw new Error(`raft wal: encoded ${at} bytes of ${size}`);
  return out;
}

/**
 * Decodes one record. Entry bytes are copies (they outlive the read buffer `payload` is a view of).
 * `where` names the record in errors.
 */
export function decodeWal(payload: Uint8Array, where: string): WalRecord {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const fail = (why: string): never => {
    throw new HordeError(ErrorCode.LOG_CORRUPT, `raft wal ${where}: ${why}`);
  };
  const need = (n: number): void => {
    if (at + n > buf.length) fail(`record ends early (${buf.length} bytes)`);
  };
  const u8 = (): number => {
    need(1);
    return buf.readUInt8(at++);
  };
  const u16 = (): number => {
    need(2);
    at += 2;
    return buf.readUInt16LE(at - 2);
  };
  const u32 = (): number => {
    need(4);
    at += 4;
    return buf.readUInt32LE(at - 4);
  };
  const num = (): number => {
    need(8);
    at += 8;
    const value = buf.readDoubleLE(at - 8);
    if (!Number.isSafeInteger(value) || value < 0) fail(`a number field holds ${value}`);
    return value;
  };
  const hardState = (): RaftHardState => {
    const term = num();
    const commit = num();
    const length = u16();
    if (length === NULL_VOTE) return { term, vote: null, commit };
    need(length);
    at += length;
    return { term, vote: buf.toString('utf8', at - length, at), commit };
  };
  const kind = u8();
  const nameLength = u8();
  need(nameLength);
  const group = buf.toString('latin1', at, at + nameLength);
  at += nameLength;
  let record: WalRecord;
  switch (kind) {
    case KIND.entries: {
      const firstIndex = num();
      const hs = u8() === 1 ? hardState() : undefined;
      const count = u32();
      const entries: RaftEntry[] = [];
      for (let i = 0; i < count; i++) {
        const term = num();
        const length = u32();
        need(length);
        entries.push({ term, data: payload.slice(at, at + length) });
        at += length;
      }
      record = { kind: 'entries', group, firstIndex, hardState: hs, entries };
      break;
    }
    case KIND.hardState:
      record = { kind: 'hardState', group, hardState: hardState() };
      break;
    case KIND.truncate:
      record = { kind: 'truncate', group, fromIndex: num() };
      break;
    case KIND.snapshot:
      record = { kind: 'snapshot', group, index: num(), term: num() };
      break;
    case KIND.group:
      record = { kind: 'group', group, hardState: hardState(), snapshotIndex: num(), snapshotTerm: num() };
      break;
    default:
      return fail(`unknown record kind ${kind}`);
  }
  if (at !== buf.length) fail(`${buf.length - at} bytes follow the record`);
  return record;
}
