/**
 * A Raft group's snapshot file: `<store>/snap/<group>.snap`, written by atomic replace (atomic.ts:
 * temp file, fsync, rename, directory fsync), so after a crash it holds the old snapshot or the
 * new one, whole. The file describes itself, so recovery can trust it even when the WAL's snapshot
 * marker written after it was lost:
 * ```
 *   0  u32  magic 'HRSN'
 *   4  u32  CRC32C of bytes 8..end
 *   8  f64  index
 *  16  f64  term
 *  24  ...  the snapshot's bytes
 * ```
 */

import { ErrorCode, HordeError } from '../errors.js';
import { crc32c } from './crc32c.js';
import type { RaftSnapshot } from './raft-storage.js';

const MAGIC = 0x4e535248; // 'HRSN' little-endian
const HEADER = 24;

/** The snapshot file's bytes. */
export function encodeSnapshotFile(index: number, term: number, data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeDoubleLE(index, 8);
  out.writeDoubleLE(term, 16);
  out.set(data, HEADER);
  out.writeUInt32LE(crc32c(out, 8, out.length - 8), 4);
  return out;
}

/** Parses and checks a snapshot file (HORDE_LOG_CORRUPT if it does not check). */
export function decodeSnapshotFile(bytes: Uint8Array, path: string): RaftSnapshot {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER || buf.readUInt32LE(0) !== MAGIC || crc32c(buf, 8, buf.length - 8) !== buf.readUInt32LE(4)) {
    throw new HordeError(ErrorCode.LOG_CORRUPT, `raft snapshot ${path} is corrupt (bad magic, length or checksum)`);
  }
  const index = buf.readDoubleLE(8);
  const term = buf.readDoubleLE(16);
  if (!Number.isSafeInteger(index) || index < 1 || !Number.isSafeInteger(term) || term < 0) {
    throw new HordeError(ErrorCode.LOG_CORRUPT, `raft snapshot ${path} names index ${index}, term ${term}`);
  }
  return { index, term, data: bytes.subarray(HEADER) };
}
