// The Raft ops of ctx.io through the real file worker code over a SimDisk (simFileWorker, as a
// SimCluster node's io is served): answers, shape checks, confinement of <dataDir>/raft, and what
// a crash keeps.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { IoReply, IoRequest } from '../../src/process/io.js';
import { SimDisk, simFileWorker } from '../../src/testkit/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const ok = (reply: IoReply): unknown => {
  if (!reply.ok) throw new Error(`expected ok, got ${reply.error.code}: ${reply.error.message}`);
  return reply.value;
};
const codeOf = (reply: IoReply): string => (reply.ok ? 'ok' : reply.error.code);

describe('Raft io requests on the file worker (SimDisk)', () => {
  it('serves append, hard state, truncate, read, compact, snapshot, load and groups; a crash keeps what was answered', async () => {
    const disk = new SimDisk();
    const worker = simFileWorker(disk);
    const entries = ['a', 'b', 'c'].map((s) => ({ term: 1, data: bytes(s) }));
    expect(ok(await worker.handle({ op: 'raftAppend', group: 'g', firstIndex: 1, entries }))).toEqual({ lastIndex: 3 });
    expect(ok(await worker.handle({ op: 'raftHardState', group: 'g', hardState: { term: 2, vote: 'n3', commit: 3 } }))).toBeNull();
    expect(ok(await worker.handle({ op: 'raftAppend', group: 'g', firstIndex: 4, entries }))).toEqual({ lastIndex: 6 });
    expect(ok(await worker.handle({ op: 'raftTruncate', group: 'g', fromIndex: 6 }))).toBeNull();
    expect(ok(await worker.handle({ op: 'raftCompact', group: 'g', index: 2, term: 1, snapshot: 'snap' }))).toBeNull();
    // Read in pages of about 1 byte: one entry each.
    const page = ok(await worker.handle({ op: 'raftRead', group: 'g', from: 3, maxBytes: 1 })) as { entries: { data: Uint8Array }[] };
    expect(page.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['c']);
    disk.crash();
    const restarted = simFileWorker(disk);
    expect(ok(await restarted.handle({ op: 'raftGroups' }))).toEqual(['g']);
    expect(ok(await restarted.handle({ op: 'raftLoad', group: 'g' }))).toEqual({
      hardState: { term: 2, vote: 'n3', commit: 3 },
      snapshot: { index: 2, term: 1 },
      firstIndex: 3,
      lastIndex: 5,
    });
    const read = ok(await restarted.handle({ op: 'raftRead', group: 'g', from: 3, to: 6 })) as { entries: { term: number; data: Uint8Array }[] };
    expect(read.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['c', 'a', 'b']);
    const snapshot = ok(await restarted.handle({ op: 'raftSnapshot', group: 'g' })) as { index: number; data: Uint8Array };
    expect([snapshot.index, new TextDecoder().decode(snapshot.data)]).toEqual([2, 'snap']);
    expect(ok(await restarted.handle({ op: 'raftSnapshot', group: 'other' }))).toBeNull();
    await restarted.close();
  });

  it('answers HORDE_LOG_FAILED to the writes of a failed fsync, then reopens the store from the disk with everything acknowledged', async () => {
    const disk = new SimDisk();
    const worker = simFileWorker(disk);
    const entry = (s: string): { term: number; data: Uint8Array } => ({ term: 1, data: bytes(s) });
    expect(ok(await worker.handle({ op: 'raftAppend', group: 'g', firstIndex: 1, entries: [entry('kept')] }))).toEqual({ lastIndex: 1 });
    disk.failFsync('/data/raft/wal-', 1);
    const failed = await Promise.all([
      worker.handle({ op: 'raftAppend', group: 'g', firstIndex: 2, entries: [entry('lost')] }),
      worker.handle({ op: 'raftAppend', group: 'h', firstIndex: 1, entries: [entry('lost too')] }),
    ]);
    expect(failed.map(codeOf)).toEqual([ErrorCode.LOG_FAILED, ErrorCode.LOG_FAILED]);
    // The next request reopens the store: only what was acknowledged is there.
    expect(ok(await worker.handle({ op: 'raftLoad', group: 'g' }))).toMatchObject({ firstIndex: 1, lastIndex: 1 });
    expect(ok(await worker.handle({ op: 'raftGroups' }))).toEqual(['g']);
    expect(ok(await worker.handle({ op: 'raftAppend', group: 'g', firstIndex: 2, entries: [entry('again')] }))).toEqual({ lastIndex: 2 });
    disk.crash();
    const restarted = simFileWorker(disk);
    const read = ok(await restarted.handle({ op: 'raftRead', group: 'g', from: 1 })) as { entries: { data: Uint8Array }[] };
    expect(read.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['kept', 'again']);
    await restarted.close();
  });

  it('bounds a raftRead answer by bytes, framing included: many tiny entries come in pages', async () => {
    const worker = simFileWorker(new SimDisk(), { readBytes: 64 * 1024 });
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ term: 1, data: bytes(String(i % 10)) }));
    ok(await worker.handle({ op: 'raftAppend', group: 'tiny', firstIndex: 1, entries }));
    let from = 1;
    let pages = 0;
    while (from <= 10_000) {
      const page = ok(await worker.handle({ op: 'raftRead', group: 'tiny', from })) as { entries: unknown[] };
      expect(page.entries.length).toBe(Math.min(Math.floor((64 * 1024) / 33), 10_001 - from));
      from += page.entries.length;
      pages++;
    }
    expect(pages).toBe(Math.ceil(10_000 / Math.floor((64 * 1024) / 33)));
    await worker.close();
  });

  it('refuses malformed requests, bad names and indexes with stable codes', async () => {
    const worker = simFileWorker(new SimDisk());
    const bad = (request: unknown): Promise<IoReply> => worker.handle(request as IoRequest);
    expect(codeOf(await bad({ op: 'raftAppend', group: 'g', firstIndex: 1, entries: [{ term: 1, data: 'text' }] }))).toBe(ErrorCode.INVALID_IO_REQUEST);
    expect(codeOf(await bad({ op: 'raftAppend', group: 7, firstIndex: 1, entries: [] }))).toBe(ErrorCode.INVALID_IO_REQUEST);
    expect(codeOf(await bad({ op: 'raftHardState', group: 'g', hardState: { term: 1 } }))).toBe(ErrorCode.INVALID_IO_REQUEST);
    expect(codeOf(await bad({ op: 'raftRead', group: 'g', from: -1 }))).toBe(ErrorCode.INVALID_IO_REQUEST);
    expect(codeOf(await bad({ op: 'raftCompact', group: 'g', index: 1, term: 1 }))).toBe(ErrorCode.INVALID_IO_REQUEST);
    expect(codeOf(await worker.handle({ op: 'raftLoad', group: '../escape' }))).toBe(ErrorCode.INVALID_OPTION);
    expect(codeOf(await worker.handle({ op: 'raftRead', group: 'g', from: 5 }))).toBe(ErrorCode.RAFT_INDEX);
    await worker.close();
  });

  it('keeps the store inside the data directory: a raft symlink that leaves it is refused', async () => {
    const disk = new SimDisk();
    disk.mkdirDurable('/elsewhere');
    disk.mkdirDurable('/data');
    disk.symlink('/elsewhere', '/data/raft');
    const worker = simFileWorker(disk);
    expect(codeOf(await worker.handle({ op: 'raftGroups' }))).toBe(ErrorCode.PATH_OUTSIDE_DATA_DIR);
    expect(await disk.fileSystem().readdir('/elsewhere')).toEqual([]);
    await worker.close();
  });

  it('answers HORDE_NO_DATA_DIR without a data directory', async () => {
    const { FileService } = await import('../../src/fileio/service.js');
    const service = new FileService({ dataDir: undefined, computeModules: [], preload: [], computeThreads: 1, readBytes: 1024, fs: new SimDisk().fileSystem() });
    expect(codeOf(await service.handle({ op: 'raftGroups' }))).toBe(ErrorCode.NO_DATA_DIR);
    await service.close();
  });
});
