// DurableLog on real files in a temp directory: round trips, offsets, recovery from torn tails and
// flipped bits, group commit, failure of the disk, close, bounds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type HordeError } from '../../src/errors.js';
import { DurableLog, LOG_HEADER_BYTES, nodeLogFs, type DurableLogOptions, type LogFile, type LogFs } from '../../src/fileio/log.js';
import { rawScan } from '../fixtures/log-records.js';
import { rejectsWithCode } from '../support/errors.js';

let dir: string;
const logs: DurableLog[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-log-'));
});

afterEach(async () => {
  await Promise.allSettled(logs.splice(0).map((log) => log.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openLog(name = 'a.log', options?: DurableLogOptions): Promise<DurableLog> {
  const log = await DurableLog.open(join(dir, name), options);
  logs.push(log);
  return log;
}

/** Payload of `size` bytes whose content depends on `tag`. */
function payload(tag: number, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (tag * 31 + i * 7) & 0xff);
}

/** Appends payloads of the given sizes one by one; returns their offsets. */
async function fill(log: DurableLog, sizes: readonly number[]): Promise<number[]> {
  const offsets: number[] = [];
  for (const [tag, size] of sizes.entries()) offsets.push((await log.append(payload(tag, size))).offset);
  return offsets;
}

/** Every record from offset 0, in small reads. */
async function readAll(log: DurableLog, maxRecords = 7): Promise<{ offset: number; data: Uint8Array }[]> {
  const all: { offset: number; data: Uint8Array }[] = [];
  let offset = 0;
  for (;;) {
    const { records, nextOffset } = await log.read(offset, maxRecords);
    if (records.length === 0) {
      expect(nextOffset).toBe(log.endOffset);
      return all;
    }
    all.push(...records.map((r) => ({ offset: r.offset, data: Uint8Array.from(r.data) })));
    offset = nextOffset;
  }
}

/** Byte equality without vitest's element-by-element diffing (slow on large arrays). */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeDefined();
  const a = Buffer.from((actual as Uint8Array).buffer, (actual as Uint8Array).byteOffset, (actual as Uint8Array).length);
  expect(a.length).toBe(expected.length);
  expect(a.equals(expected)).toBe(true);
}

async function flipBit(path: string, position: number, bit: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, position);
    one[0] = (one[0] ?? 0) ^ (1 << bit);
    await handle.write(one, 0, 1, position);
  } finally {
    await handle.close();
  }
}

describe('DurableLog round trips', () => {
  it('reads back what was appended, at the offsets append returned, also after reopening', async () => {
    const sizes = [0, 1, 100, 12, 70_000, 3, 5000];
    const log = await openLog();
    expect(log.recovery).toEqual({ records: 0, validBytes: 0, truncatedBytes: 0 });
    const offsets = await fill(log, sizes);
    let expected = 0;
    for (const [i, size] of sizes.entries()) {
      expect(offsets[i]).toBe(expected);
      expected += LOG_HEADER_BYTES + size;
    }
    expect(log.endOffset).toBe(expected);
    const check = (records: { offset: number; data: Uint8Array }[]): void => {
      expect(records.map((r) => r.offset)).toEqual(offsets);
      for (const [i, record] of records.entries()) expectBytes(record.data, payload(i, sizes[i] ?? -1));
    };
    check(await readAll(log));
    check(await readAll(log, 1));
    await log.close();
    expect((await stat(join(dir, 'a.log'))).size).toBe(expected);

    const again = await openLog();
    expect(again.recovery).toEqual({ records: sizes.length, validBytes: expected, truncatedBytes: 0 });
    check(await readAll(again));
    const { offset } = await again.append(payload(99, 10));
    expect(offset).toBe(expected);
    expect((await again.read(offset)).records[0]?.data).toEqual(payload(99, 10));
  });

  it('reads from any record boundary, honours maxRecords and maxBytes, and always returns at least one record', async () => {
    const sizes = Array.from({ length: 40 }, (_, i) => 10 + ((i * 37) % 90));
    const log = await openLog();
    const offsets = await fill(log, sizes);
    for (const [i, offset] of offsets.entries()) {
      const { records, nextOffset } = await log.read(offset, 3);
      expect(records.map((r) => r.offset)).toEqual(offsets.slice(i, i + 3));
      expect(nextOffset).toBe(offsets[i + 3] ?? log.endOffset);
    }
    const byBytes = await log.read(0, 1000, 150);
    const total = byBytes.records.reduce((sum, r) => sum + r.data.length, 0);
    expect(total).toBeLessThanOrEqual(150);
    expect(total + (sizes[byBytes.records.length] ?? 0)).toBeGreaterThan(150);
    // With a cost per record besides its payload (what the file worker counts for its framing).
    const withCost = await log.read(0, 1000, 400, 50);
    const counted = withCost.records.reduce((sum, r) => sum + r.data.length + 50, 0);
    expect(counted).toBeLessThanOrEqual(400);
    expect(counted + (sizes[withCost.records.length] ?? 0) + 50).toBeGreaterThan(400);
    await rejectsWithCode(log.read(0, 1000, 400, -1), ErrorCode.INVALID_OPTION);
    const tiny = await log.read(offsets[5] ?? -1, 1000, 1);
    expect(tiny.records).toHaveLength(1);
    expect(tiny.records[0]?.data).toEqual(payload(5, sizes[5] ?? -1));
    expect(await log.read(log.endOffset)).toEqual({ records: [], nextOffset: log.endOffset });
  });

  it('refuses offsets that are not record boundaries with HORDE_INVALID_OFFSET', async () => {
    const log = await openLog();
    const offsets = await fill(log, [5, 17, 0, 40, 3]);
    const boundaries = new Set([...offsets, log.endOffset]);
    for (let offset = 0; offset <= log.endOffset; offset++) {
      if (boundaries.has(offset)) continue;
      await rejectsWithCode(log.read(offset), ErrorCode.INVALID_OFFSET);
    }
    for (const bad of [-1, log.endOffset + 1, 1.5, Number.NaN]) await rejectsWithCode(log.read(bad), ErrorCode.INVALID_OFFSET);
    await rejectsWithCode(log.read(0, 0), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(log.read(0, 1, 0), ErrorCode.INVALID_OPTION);
  });

  it('tells boundaries from non-boundaries far into a large log (sparse index), before and after reopening', async () => {
    const sizes = Array.from({ length: 600 }, (_, i) => (i % 50 === 0 ? 70_000 : 200 + ((i * 13) % 1500)));
    let log = await openLog();
    const offsets = await fill(log, sizes);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < offsets.length; i += 7) {
        const offset = offsets[i] ?? -1;
        const { records } = await log.read(offset, 1);
        expect(records[0]?.offset).toBe(offset);
        expectBytes(records[0]?.data, payload(i, sizes[i] ?? -1));
        await rejectsWithCode(log.read(offset + 1), ErrorCode.INVALID_OFFSET);
        await rejectsWithCode(log.read(offset + LOG_HEADER_BYTES), ErrorCode.INVALID_OFFSET);
      }
      await log.close();
      log = await openLog();
      expect(log.recovery.records).toBe(sizes.length);
    }
  });

  it('copies the record at append, so the caller may reuse its buffer at once', async () => {
    const log = await openLog();
    const buffer = payload(1, 64);
    const appended = log.append(buffer);
    buffer.fill(0);
    const { offset } = await appended;
    expect((await log.read(offset)).records[0]?.data).toEqual(payload(1, 64));
  });
});

describe('DurableLog recovery', () => {
  it('truncates a torn last record cut at every possible length, and reports it', async () => {
    const sizes = [30, 0, 45, 37];
    const path = join(dir, 'torn.log');
    const first = await DurableLog.open(path);
    const offsets = await fill(first, sizes);
    await first.close();
    const intact = await readFile(path);
    const lastOffset = offsets[offsets.length - 1] ?? -1;
    for (let cut = 0; cut < LOG_HEADER_BYTES + (sizes[sizes.length - 1] ?? -1); cut++) {
      await writeFile(path, intact.subarray(0, lastOffset + cut));
      const log = await DurableLog.open(path);
      try {
        expect(log.recovery).toEqual({ records: sizes.length - 1, validBytes: lastOffset, truncatedBytes: cut });
        expect((await stat(path)).size).toBe(lastOffset);
        const records = await readAll(log);
        expect(records.map((r) => r.data)).toEqual(sizes.slice(0, -1).map((size, i) => payload(i, size)));
        expect((await log.append(payload(7, 3))).offset).toBe(lastOffset);
      } finally {
        await log.close();
      }
    }
  });

  it('keeps exactly the records wholly before any cut (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), async (sizes, at) => {
        const path = join(dir, 'prop.log');
        await rm(path, { force: true });
        const writer = await DurableLog.open(path);
        const offsets = await fill(writer, sizes);
        const end = writer.endOffset;
        await writer.close();
        const cut = Math.floor(at * end);
        await truncate(path, cut);
        const log = await DurableLog.open(path);
        try {
          const kept = offsets.filter((offset, i) => offset + LOG_HEADER_BYTES + (sizes[i] ?? 0) <= cut).length;
          const validBytes = kept === 0 ? 0 : (offsets[kept - 1] ?? 0) + LOG_HEADER_BYTES + (sizes[kept - 1] ?? 0);
          expect(log.recovery).toEqual({ records: kept, validBytes, truncatedBytes: cut - validBytes });
          expect((await readAll(log)).map((r) => r.data)).toEqual(sizes.slice(0, kept).map((size, i) => payload(i, size)));
        } finally {
          await log.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('catches a flipped bit in any byte of a record in the middle: refuses to open, or cuts there with repair', async () => {
    const sizes = [20, 24, 20];
    const path = join(dir, 'flip.log');
    const first = await DurableLog.open(path);
    const offsets = await fill(first, sizes);
    await first.close();
    const intact = await readFile(path);
    const target = offsets[1] ?? -1;
    for (let byte = target; byte < target + LOG_HEADER_BYTES + (sizes[1] ?? -1); byte++) {
      for (let bit = 0; bit < 8; bit++) {
        await writeFile(path, intact);
        await flipBit(path, byte, bit);
        const error = await rejectsWithCode(DurableLog.open(path), ErrorCode.LOG_CORRUPT);
        expect(error.message).toContain(`offset ${target}`);
        expect((await stat(path)).size).toBe(intact.length);
      }
    }
    // With repair the log is cut at the bad record and says so.
    const log = await DurableLog.open(path, { repair: 'truncate' });
    try {
      expect(log.recovery).toEqual({ records: 1, validBytes: target, truncatedBytes: intact.length - target, corruption: { offset: target, reason: 'checksum' } });
      expect((await readAll(log)).map((r) => r.data)).toEqual([payload(0, 20)]);
    } finally {
      await log.close();
    }
  });

  it('treats a last record whose payload fails its checksum as the tail: cut and reported; a damaged last header refuses', async () => {
    const sizes = [20, 24];
    const path = join(dir, 'last.log');
    const first = await DurableLog.open(path);
    const offsets = await fill(first, sizes);
    await first.close();
    const intact = await readFile(path);
    const last = offsets[1] ?? -1;
    for (let byte = last; byte < intact.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        await writeFile(path, intact);
        await flipBit(path, byte, bit);
        if (byte < last + LOG_HEADER_BYTES) {
          // The header's checksum fails: its length cannot be trusted, so the extent of the damage is unknown.
          await rejectsWithCode(DurableLog.open(path), ErrorCode.LOG_CORRUPT);
          continue;
        }
        const log = await DurableLog.open(path);
        try {
          expect(log.recovery).toEqual({ records: 1, validBytes: last, truncatedBytes: intact.length - last, corruption: { offset: last, reason: 'checksum' } });
          expect((await readAll(log)).map((r) => r.data)).toEqual([payload(0, 20)]);
        } finally {
          await log.close();
        }
      }
    }
  });

  it('treats a damaged last record followed by a torn one as the tail', async () => {
    const path = join(dir, 'tail2.log');
    const first = await DurableLog.open(path);
    const offsets = await fill(first, [10, 30, 40]);
    await first.close();
    const size = (await stat(path)).size;
    await truncate(path, size - 5);
    await flipBit(path, (offsets[1] ?? -1) + LOG_HEADER_BYTES + 3, 2);
    const log = await openLog('tail2.log');
    expect(log.recovery).toEqual({ records: 1, validBytes: offsets[1], truncatedBytes: size - 5 - (offsets[1] ?? 0), corruption: { offset: offsets[1], reason: 'checksum' } });
  });

  it('cuts a zero-filled tail (what some file systems leave after a power loss) without calling it corruption', async () => {
    const path = join(dir, 'zeros.log');
    const first = await DurableLog.open(path);
    await fill(first, [10, 20]);
    const end = first.endOffset;
    await first.close();
    await truncate(path, end + 4096);
    const log = await openLog('zeros.log');
    expect(log.recovery).toEqual({ records: 2, validBytes: end, truncatedBytes: 4096 });
    expect((await stat(path)).size).toBe(end);
  });

  it('refuses a record longer than maxRecordBytes (reason length), and cuts it with repair', async () => {
    const path = join(dir, 'long.log');
    const first = await DurableLog.open(path);
    const offsets = await fill(first, [10, 500, 10]);
    await first.close();
    const error = await rejectsWithCode(DurableLog.open(path, { maxRecordBytes: 100 }), ErrorCode.LOG_CORRUPT);
    expect(error.message).toContain('500 bytes long');
    const log = await openLog('long.log', { maxRecordBytes: 100, repair: 'truncate' });
    expect(log.recovery.corruption).toEqual({ offset: offsets[1], reason: 'length' });
    expect(log.recovery.records).toBe(1);
  });

  it('never returns a record damaged after it was acknowledged: reads reject with HORDE_LOG_CORRUPT', async () => {
    const sizes = [16, 16, 16];
    const log = await openLog('rot.log');
    const offsets = await fill(log, sizes);
    const path = join(dir, 'rot.log');
    const intact = await readFile(path);
    const target = offsets[1] ?? -1;
    for (let byte = target; byte < target + LOG_HEADER_BYTES + 16; byte++) {
      await writeFile(path, intact);
      await flipBit(path, byte, byte % 8);
      await rejectsWithCode(log.read(target), ErrorCode.LOG_CORRUPT);
      await rejectsWithCode(log.read(0, 10), ErrorCode.LOG_CORRUPT);
      // The record before it is still readable on its own.
      expect((await log.read(0, 1)).records[0]?.data).toEqual(payload(0, 16));
    }
  });
});

describe('DurableLog group commit', () => {
  it('batches concurrent appends into far fewer fsyncs, keeping call order', async () => {
    const log = await openLog();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(payload(i, 50 + (i % 7)))));
    const stats = log.stats;
    expect(stats.appends).toBe(200);
    expect(stats.fsyncs).toBeLessThan(stats.appends);
    expect(stats.fsyncs).toBe(stats.batches);
    expect(stats.maxBatch).toBeGreaterThan(1);
    for (let i = 1; i < results.length; i++) expect(results[i]?.offset).toBe((results[i - 1]?.offset ?? 0) + LOG_HEADER_BYTES + (results[i - 1]?.length ?? 0));
    const records = await readAll(log, 1000);
    expect(records.map((r) => r.data)).toEqual(Array.from({ length: 200 }, (_, i) => payload(i, 50 + (i % 7))));
  });

  it('gathers appenders that append again as soon as their last append resolves', async () => {
    const log = await openLog();
    const appender = async (id: number): Promise<void> => {
      for (let n = 0; n < 20; n++) await log.append(payload(id * 100 + n, 32));
    };
    await Promise.all(Array.from({ length: 16 }, (_, id) => appender(id)));
    expect(log.stats.appends).toBe(320);
    expect(log.stats.fsyncs).toBeLessThan(160);
  });

  it('with groupCommit: false writes and syncs each append on its own', async () => {
    const log = await openLog('each.log', { groupCommit: false });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(payload(i, 10))));
    expect(log.stats).toMatchObject({ appends: 20, fsyncs: 20, batches: 20, maxBatch: 1 });
    expect((await readAll(log)).map((r) => r.data)).toEqual(Array.from({ length: 20 }, (_, i) => payload(i, 10)));
  });
});

/** A file layer that delegates to the real one and fails a chosen call. */
function faultyFs(fault: { op: 'datasync' | 'writev'; onCall: number; code: string }): LogFs & { file?: LogFile } {
  const layer: LogFs & { file?: LogFile } = {
    async openFile(path) {
      const opened = await nodeLogFs.openFile(path);
      const real = opened.file;
      let calls = 0;
      const fail = (): Promise<never> => Promise.reject(Object.assign(new Error(`injected ${fault.code}`), { code: fault.code }));
      const file: LogFile = {
        read: (...args) => real.read(...args),
        writev: (buffers, position) => (fault.op === 'writev' && ++calls === fault.onCall ? fail() : real.writev(buffers, position)),
        datasync: () => (fault.op === 'datasync' && ++calls === fault.onCall ? fail() : real.datasync()),
        sync: () => real.sync(),
        truncate: (length) => real.truncate(length),
        size: () => real.size(),
        close: () => real.close(),
      };
      layer.file = file;
      return { file, created: opened.created };
    },
    syncDirectory: (path) => nodeLogFs.syncDirectory(path),
  };
  return layer;
}

describe('DurableLog when the disk fails', () => {
  for (const op of ['datasync', 'writev'] as const) {
    it(`fails the log for good when ${op} fails: the batch, the queue and every later append reject with HORDE_LOG_FAILED`, async () => {
      const log = await openLog('fail.log', { fs: faultyFs({ op, onCall: 2, code: 'EIO' }) });
      const { offset } = await log.append(payload(0, 10));
      const batch = Array.from({ length: 5 }, (_, i) => log.append(payload(i + 1, 10)));
      const outcomes = await Promise.allSettled(batch);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as HordeError;
        expect(error.code).toBe(ErrorCode.LOG_FAILED);
        expect((error.cause as { code?: string }).code).toBe('EIO');
      }
      expect(log.failed?.code).toBe(ErrorCode.LOG_FAILED);
      const later = await rejectsWithCode(log.append(payload(9, 10)), ErrorCode.LOG_FAILED);
      expect((later.cause as { code?: string }).code).toBe('EIO');
      expect(log.stats.appends).toBe(1);
      // What was acknowledged before the failure is still readable.
      expect((await log.read(offset)).records.map((r) => r.data)).toEqual([payload(0, 10)]);
      await log.close();
    });
  }

  it('fails with the real fs error when the file handle is closed underneath it', async () => {
    const layer = faultyFs({ op: 'datasync', onCall: -1, code: 'unused' });
    const log = await openLog('closed.log', { fs: layer });
    await log.append(payload(0, 10));
    await layer.file?.close();
    const error = await rejectsWithCode(log.append(payload(1, 10)), ErrorCode.LOG_FAILED);
    expect((error.cause as { code?: string }).code).toBe('EBADF');
    await rejectsWithCode(log.append(payload(2, 10)), ErrorCode.LOG_FAILED);
    await log.close();
  });
});

describe('DurableLog close', () => {
  it('waits for appends in flight and queued, then refuses appends and reads with HORDE_LOG_CLOSED', async () => {
    const log = await openLog();
    const pending = Array.from({ length: 50 }, (_, i) => log.append(payload(i, 100)));
    const closing = log.close();
    expect(log.close()).toBe(closing);
    await rejectsWithCode(log.append(payload(0, 1)), ErrorCode.LOG_CLOSED);
    await closing;
    expect((await Promise.all(pending)).length).toBe(50);
    await rejectsWithCode(log.append(payload(0, 1)), ErrorCode.LOG_CLOSED);
    await rejectsWithCode(log.read(0), ErrorCode.LOG_CLOSED);
    const again = await openLog();
    expect(again.recovery.records).toBe(50);
  });

  it('allows one open log per file on a thread (HORDE_LOG_IN_USE) until it is closed', async () => {
    const log = await openLog('one.log');
    await rejectsWithCode(DurableLog.open(join(dir, '.', 'one.log')), ErrorCode.LOG_IN_USE);
    await log.close();
    await openLog('one.log');
  });

  it('reports a file it cannot open as HORDE_IO_ERROR with the fs error as cause, and frees the path', async () => {
    const error = await rejectsWithCode(DurableLog.open(join(dir, 'missing-dir', 'x.log')), ErrorCode.IO_ERROR);
    expect((error.cause as { code?: string }).code).toBe('ENOENT');
    await rejectsWithCode(DurableLog.open(dir), ErrorCode.IO_ERROR);
  });
});

describe('DurableLog bounds', () => {
  it('refuses a record over maxRecordBytes before writing anything', async () => {
    const log = await openLog('big.log', { maxRecordBytes: 1024 });
    await log.append(payload(0, 1024));
    const end = log.endOffset;
    await rejectsWithCode(log.append(payload(1, 1025)), ErrorCode.RECORD_TOO_LARGE);
    expect(log.endOffset).toBe(end);
    await log.append(payload(2, 1));
    expect((await readAll(log)).map((r) => r.data.length)).toEqual([1024, 1]);
    await rejectsWithCode(log.append('text' as unknown as Uint8Array), ErrorCode.INVALID_OPTION);
  });

  it('refuses appends with HORDE_OVERLOADED past maxQueuedBytes, and writes none of them', async () => {
    const log = await openLog('queue.log', { maxRecordBytes: 100, maxQueuedBytes: 1000 });
    const attempts = Array.from({ length: 40 }, (_, i) => log.append(payload(i, 88)));
    const outcomes = await Promise.allSettled(attempts);
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(accepted).toBe(10);
    for (const outcome of refused) expect((outcome.reason as HordeError).code).toBe(ErrorCode.OVERLOADED);
    expect(log.stats.queuedBytes).toBe(0);
    await log.append(payload(99, 88));
    await log.close();
    const { records } = rawScan(await readFile(join(dir, 'queue.log')));
    expect(records.map((r) => Uint8Array.from(r.data))).toEqual([...Array.from({ length: 10 }, (_, i) => payload(i, 88)), payload(99, 88)]);
  });

  it('validates its options with HORDE_INVALID_OPTION', async () => {
    const path = join(dir, 'opts.log');
    for (const options of [
      { maxRecordBytes: 0 },
      { maxRecordBytes: 1.5 },
      { maxRecordBytes: 2 ** 31 },
      { maxQueuedBytes: 100, maxRecordBytes: 100 },
      { groupCommit: 'yes' as unknown as boolean },
      { repair: 'all' as unknown as 'tail' },
    ]) {
      await expect(DurableLog.open(path, options)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
    }
    await expect(DurableLog.open('')).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTION });
  });
});
