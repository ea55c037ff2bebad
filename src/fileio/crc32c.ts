/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata,
 * LevelDB/RocksDB logs and Kafka record batches. Pure JavaScript, slicing-by-8: eight 256-entry
 * tables (8 KiB, built once at import) let the inner loop fold eight bytes per step.
 *
 * Why not a dependency: `@node-rs/crc32` (prebuilt SIMD binaries delivered as npm optional
 * dependencies, no download of its own) installs cleanly here and agrees with this file. Measured
 * on the 2-core machine: 16 B 0.02 us here vs 0.10 us native (the N-API call dominates), 64-256 B
 * about even, 4 KiB 2.9 us vs 0.65 us, 1 MiB 0.75 ms vs 0.13 ms (1.4 GB/s vs 7.9 GB/s). The log
 * pays an fdatasync of milliseconds per batch, so the checksum is noise there, and a native
 * dependency brings platforms without a binary. Worth revisiting only if recovery scans of very
 * large logs (about 0.7 s per GiB here) start to matter.
 *
 * `crc32c(bytes, offset, length, seed)`: `seed` is a previous result, so checksums chain:
 * `crc32c(b, 0, b.length, crc32c(a)) === crc32c(concat(a, b))`. Never allocates.
 */

const POLY = 0x82f63b78;

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLY : crc >>> 1;
    tables[b] = crc;
  }
  for (let b = 0; b < 256; b++) {
    let crc = tables[b] as number;
    for (let k = 1; k < 8; k++) {
      crc = (tables[crc & 0xff] as number) ^ (crc >>> 8);
      tables[k * 256 + b] = crc;
    }
  }
  return tables;
}

/**
 * The CRC32C of `bytes[offset .. offset + length)`, as an unsigned 32-bit integer. Throws a
 * RangeError when the range does not fit in `bytes`.
 */
export function crc32c(bytes: Uint8Array, offset = 0, length = bytes.length - offset, seed = 0): number {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw new RangeError(`crc32c: range ${offset}+${length} outside a buffer of ${bytes.length} bytes`);
  }
  const t = TABLES;
  let crc = ~seed | 0;
  let i = offset;
  const end = offset + length;
  const end8 = end - 7;
  // The casts are sound: i stays within [offset, end) and every table index within [0, 2048).
  while (i < end8) {
    const lo = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (bytes[i + 4] as number)] as number) ^
      (t[512 + (bytes[i + 5] as number)] as number) ^
      (t[256 + (bytes[i + 6] as number)] as number) ^
      (t[bytes[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) {
    crc = (t[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}
