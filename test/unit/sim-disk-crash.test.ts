// Crashes and disk faults on a SimDisk, through the real file worker code (FileService, DurableLog,
// atomic replace): what fsync makes durable survives, nothing else does, a torn log tail recovers
// to the last acknowledged record, `replace` is all-or-nothing at every step, and a failed fsync or
// a full disk is an error answer that loses nothing acknowledged.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.js';
import type { IoReply, LogReadAnswer } from '../../src/process/io.js';
import { SimDisk, type SimCrash, type SimDiskOptions } from '../../src/testkit/sim-disk.js';
import { simFileWorker, type SimFileWorker } from '../../src/testkit/sim-disk-worker.js';
import { seededRandom } from '../support/seeded.js';

/** A SimDisk that crashes itself just before its `k`-th operation from the moment `crashAt(k)` is called. */
function crashingDisk(options: SimDiskOptions = {}): { disk: SimDisk; crashAt: (k: number) => void; crashes: SimCrash[]; operations: () => number } {
  let countdown = Number.POSITIVE_INFINITY;
  let operations = 0;
  const crashes: SimCrash[] = [];
  const disk: SimDisk = new SimDisk({
    ...options,
    beforeOperation: () => {
      operations++;
      if (--countdown === 0) {
        countdown = Number.POSITIVE_INFINITY;
        crashes.push(disk.crash());
      }
    },
  });
  return {
    disk,
    crashes,
    crashAt: (k) => {
      countdown = k;
    },
    operations: () => operations,
  };
}

function ok(reply: IoReply): unknown {
  if (!reply.ok) throw new Error(`expected ok, got ${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}

async function readText(worker: SimFileWorker, path: string): Promise<string | undefined> {
  const reply = await worker.handle({ op: 'read', path, encoding: 'utf8' });
  if (!reply.ok) {
    expect(reply.error.code).toBe('ENOENT');
    return undefined;
  }
  return reply.value as string;
}

/**
 * Every record of log `log`, as text, read in pages of `page` records. With `retries`, an open
 * that fails (an injected fsync failure of its directory) is tried again, as the next request
 * would: a log that fails to open is forgotten.
 */
async function readLog(worker: SimFileWorker, log: string, page = 3, retries = 0): Promise<string[]> {
  const records: string[] = [];
  let offset = 0;
  for (;;) {
    let reply = await worker.handle({ op: 'logRead', log, offset, maxRecords: page });
    for (let i = 0; i < retries && !reply.ok; i++) {
      reply = await worker.handle({ op: 'logRead', log, offset, maxRecords: page });
    }
    const answer = ok(reply) as LogReadAnswer;
    records.push(...answer.records.map((record) => new TextDecoder().decode(record.data)));
    if (answer.nextOffset === answer.endOffset) return records;
    offset = answer.nextOffset;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SimDisk crash: what survives', () => {
  it('fsynced files survive, unsynced writes and appends do not', async () => {
    const disk = new SimDisk();
    const first = simFileWorker(disk);
    ok(await first.handle({ op: 'write', path: 'kept.txt', data: 'v1' }));
    ok(await first.handle({ op: 'fsync', path: 'kept.txt' }));
    ok(await first.handle({ op: 'append', path: 'kept.txt', data: '+unsynced' }));
    ok(await first.handle({ op: 'write', path: 'never-synced.txt', data: 'gone' }));
    expect(await readText(first, 'kept.txt')).toBe('v1+unsynced');
    const report = disk.crash();
    expect(report).toMatchObject({ incarnation: 1, torn: [] });
    const second = simFileWorker(disk);
    expect(await readText(second, 'kept.txt')).toBe('v1');
    expect(await readText(second, 'never-synced.txt')).toBeUndefined();
    expect(ok(await second.handle({ op: 'list', path: '.' }))).toEqual(['kept.txt']);
  });

  it('the last unsynced write of a file may survive torn: a seeded prefix of it, zeros before it', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    disk.writeDurable('/f', 'AAAA');
    const fs = disk.fileSystem();
    const file = await fs.open('/f', 'r+');
    await file.writev([new TextEncoder().encode('xx')], 0);
    await file.writev([new TextEncoder().encode('BBBBBBBB')], 6);
    const report = disk.crash();
    expect(report.torn).toEqual([{ path: '/f', kept: 4, of: 8 }]);
    expect(report.lostBytes).toBe(2 + 4);
    const after = disk.fileSystem();
    expect(new TextDecoder().decode(await after.readFile('/f'))).toBe('AAAA\0\0BBBB');
  });

  it('names are durable only once their directory is fsynced: create, rename and unlink', async () => {
    const disk = new SimDisk();
    disk.writeDurable('/d/old', 'old');
    const fs = disk.fileSystem();
    const sync = async (path: string): Promise<void> => {
      const handle = await fs.open(path, 'r');
      await handle.sync();
      await handle.close();
    };
    await fs.writeFile('/d/new', 'new');
    await sync('/d/new');
    await fs.rename('/d/old', '/d/renamed');
    await fs.mkdir('/d/sub/deeper', { recursive: true });
    disk.crash();
    let now = disk.fileSystem();
    expect(await now.readdir('/d')).toEqual(['old']);
    await now.writeFile('/d/new', 'new');
    await now.rm('/d/old');
    const handle = await now.open('/d/new', 'r');
    await handle.sync();
    await handle.close();
    const dir = await now.open('/d', 'r');
    await dir.sync();
    await dir.close();
    await now.rm('/d/new');
    disk.crash();
    now = disk.fileSystem();
    expect(await now.readdir('/d')).toEqual(['new']);
    expect(new TextDecoder().decode(await now.readFile('/d/new'))).toBe('new');
  });

  it("a crashed incarnation's file system and its held operations fail with EIO and change nothing", async () => {
    const disk = new SimDisk();
    const old = disk.fileSystem();
    const hold = disk.hold((operation) => operation.kind === 'write');
    const held = old.writeFile('/late', 'x');
    await turn();
    expect(hold.waiting).toMatchObject([{ kind: 'write', path: '/late', incarnation: 0 }]);
    disk.crash();
    await expect(held).rejects.toMatchObject({ code: 'EIO' });
    await expect(old.readdir('/')).rejects.toMatchObject({ code: 'EIO' });
    expect(await disk.fileSystem().readdir('/')).toEqual([]);
    expect(disk.incarnation).toBe(1);
  });

  it('is deterministic: the same seed and the same calls give the same crash and the same disk', async () => {
    const run = async (seed: number): Promise<unknown> => {
      const { disk, crashAt, crashes } = crashingDisk({ random: seededRandom(seed) });
      const worker = simFileWorker(disk);
      const replies = [];
      for (let i = 0; i < 5; i++) replies.push(worker.handle({ op: 'logAppend', log: 'd', record: 'r'.repeat(40 + i) }));
      replies.push(worker.handle({ op: 'append', path: 'notes', data: 'n'.repeat(30) }));
      crashAt(9);
      const answers = await Promise.all(replies);
      const after = simFileWorker(disk);
      return { crashes, answers: answers.map((answer) => answer.ok), log: await readLog(after, 'd'), list: ok(await after.handle({ op: 'list', path: '.' })) };
    };
    expect(await run(42)).toEqual(await run(42));
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 20; seed++) outcomes.add(JSON.stringify(await run(seed)));
    expect(outcomes.size).toBeGreaterThan(1);
  });

  it('a new incarnation opens the logs the crashed one left open (no HORDE_LOG_IN_USE)', async () => {
    const disk = new SimDisk();
    const first = simFileWorker(disk);
    ok(await first.handle({ op: 'logAppend', log: 'l', record: 'one' }));
    disk.crash();
    const second = simFileWorker(disk);
    expect(await readLog(second, 'l')).toEqual(['one']);
  });
});

describe('replace across a crash at every step', () => {
  for (const before of ['old', undefined]) {
    it(`leaves the ${before === undefined ? 'missing' : 'old'} file or the new one, whole; an acknowledged replace survives`, async () => {
      // How many disk operations one replace takes (confinement, temp file, fsync, rename, directory fsync).
      const probe = crashingDisk();
      if (before !== undefined) probe.disk.writeDurable('/data/conf.json', before);
      const probeWorker = simFileWorker(probe.disk);
      const start = probe.operations();
      ok(await probeWorker.handle({ op: 'replace', path: 'conf.json', data: 'new contents' }));
      const steps = probe.operations() - start;
      expect(steps).toBeGreaterThanOrEqual(8);
      const seen = new Set<string | undefined>();
      for (let k = 1; k <= steps + 1; k++) {
        for (const seed of [1, 2, 3]) {
          const { disk, crashAt } = crashingDisk({ random: seededRandom(seed * 1000 + k) });
          if (before !== undefined) disk.writeDurable('/data/conf.json', before);
          const worker = simFileWorker(disk);
          crashAt(k);
          const reply = await worker.handle({ op: 'replace', path: 'conf.json', data: 'new contents' });
          crashAt(Number.POSITIVE_INFINITY);
          if (disk.incarnation === 0) disk.crash();
          const after = simFileWorker(disk);
          const text = await readText(after, 'conf.json');
          expect([before, 'new contents']).toContain(text);
          if (reply.ok) expect(text).toBe('new contents');
          // HORDE_IO_ERROR from a step of the replace, HORDE_INVALID_PATH if the data directory
          // itself could not be resolved (the crash hit confinement's realpath).
          else expect([ErrorCode.IO_ERROR, ErrorCode.INVALID_PATH]).toContain(reply.error.code);
          expect(ok(await after.handle({ op: 'list', path: '.' }))).toEqual(text === undefined ? [] : ['conf.json']);
          seen.add(text);
        }
      }
      // Both outcomes happen: the crash points cover the whole replace.
      expect(seen).toEqual(new Set([before, 'new contents']));
    });
  }
});

describe('durable logs across crashes (property)', () => {
  type Step =
    | { kind: 'append'; size: number; count: number }
    | { kind: 'settle' }
    | { kind: 'crash'; afterOps: number }
    | { kind: 'restart' }
    | { kind: 'failFsync'; prefix: string };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 0, max: 300 }), count: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ kind: fc.constant('settle' as const) }),
    fc.record({ kind: fc.constant('crash' as const), afterOps: fc.integer({ min: 1, max: 14 }) }),
    fc.record({ kind: fc.constant('restart' as const) }),
    // The log's fdatasync, or any fsync under the data directory (the directory fsyncs of an open too).
    fc.record({ kind: fc.constant('failFsync' as const), prefix: fc.constantFrom('/data/logs/p.log', '/data') }),
  );
  const totals = { torn: 0, crashes: 0, acked: 0, failedAppends: 0 };

  it('every acknowledged logAppend survives crashes and fsync failures; a torn tail recovers to records sent, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0x7fffffff }), fc.array(step, { minLength: 1, maxLength: 25 }), async (seed, steps) => {
        const { disk, crashAt, crashes } = crashingDisk({ random: seededRandom(seed) });
        let worker = simFileWorker(disk);
        let base: string[] = [];
        let sent: string[] = [];
        let acked: string[] = [];
        let inFlight: Promise<void>[] = [];
        let serial = 0;

        /** After a crash (`orderly` false) or a close: the new worker must find what was acknowledged. */
        const restart = async (orderly: boolean): Promise<void> => {
          await Promise.allSettled(inFlight);
          if (orderly) await worker.close();
          worker = simFileWorker(disk);
          const records = await readLog(worker, 'p', 3, steps.length);
          // Without a crash, exactly what was acknowledged: not a record of a failed batch.
          if (orderly) expect(records.length - base.length).toBe(acked.length);
          // The log is what it held before, then records this incarnation sent, in the order sent
          // (an append refused because the log failed to open leaves a gap), every acknowledged
          // one among them.
          expect(records.slice(0, base.length)).toEqual(base);
          const fresh = records.slice(base.length);
          let at = 0;
          for (const record of fresh) {
            while (at < sent.length && sent[at] !== record) at++;
            expect(at, `record ${record.slice(0, 12)} was not sent in this order`).toBeLessThan(sent.length);
            at++;
          }
          // Acknowledgements came in the order of the appends.
          const serials = acked.map((record) => Number(record.split(':')[0]));
          expect(serials).toEqual([...serials].sort((x, y) => x - y));
          const kept = new Set(fresh);
          expect(acked.filter((record) => !kept.has(record))).toEqual([]);
          totals.acked += acked.length;
          base = records;
          sent = [];
          acked = [];
          inFlight = [];
        };

        for (const s of steps) {
          if (s.kind === 'append') {
            for (let i = 0; i < s.count; i++) {
              const record = `${serial++}:${'x'.repeat(s.size)}`;
              sent.push(record);
              const myAcked = acked;
              inFlight.push(
                worker.handle({ op: 'logAppend', log: 'p', record }).then((reply) => {
                  if (reply.ok) myAcked.push(record);
                  else totals.failedAppends++;
                }),
              );
            }
          } else if (s.kind === 'restart') {
            await restart(true);
          } else if (s.kind === 'failFsync') {
            disk.failFsync(s.prefix, 1);
          } else if (s.kind === 'settle') {
            for (let i = 0; i < 3; i++) await turn();
          } else {
            const incarnation = disk.incarnation;
            crashAt(s.afterOps);
            for (let i = 0; i < 30 && disk.incarnation === incarnation; i++) await turn();
            if (disk.incarnation === incarnation) {
              crashAt(Number.POSITIVE_INFINITY);
              crashes.push(disk.crash());
            }
            await restart(false);
          }
        }
        await Promise.allSettled(inFlight);
        crashes.push(disk.crash());
        await restart(false);
        totals.crashes += crashes.length;
        totals.torn += crashes.filter((crash) => crash.torn.length > 0).length;
      }),
      // A fixed seed, so the vacuity checks below hold on every run (a random one tore nothing in
      // one CI run of 100 cases); HORDE_FC_SEED explores others.
      { numRuns: 100, seed: Number(process.env.HORDE_FC_SEED ?? 20_261_203) },
    );
    // The property is not vacuous: crashes tore writes, and acknowledged records were checked.
    expect(totals.torn).toBeGreaterThan(0);
    expect(totals.acked).toBeGreaterThan(0);
    expect(totals.failedAppends).toBeGreaterThan(0);
  });
});

describe('disk faults', () => {
  it('a logAppend whose fdatasync fails is an error answer, later appends too, and nothing acknowledged is lost', async () => {
    const disk = new SimDisk({ random: seededRandom(7) });
    const worker = simFileWorker(disk);
    for (const record of ['a', 'b', 'c']) ok(await worker.handle({ op: 'logAppend', log: 'l', record }));
    disk.failFsync('/data/logs/', 1);
    const failed = await worker.handle({ op: 'logAppend', log: 'l', record: 'doomed' });
    expect(failed.ok).toBe(false);
    if (failed.ok) return;
    expect(failed.error.code).toBe(ErrorCode.LOG_FAILED);
    expect(failed.error.cause?.code).toBe('EIO');
    const later = await worker.handle({ op: 'logAppend', log: 'l', record: 'later' });
    expect(later.ok ? 'ok' : later.error.code).toBe(ErrorCode.LOG_FAILED);
    disk.crash();
    const after = simFileWorker(disk);
    expect(await readLog(after, 'l')).toEqual(['a', 'b', 'c']);
    ok(await after.handle({ op: 'logAppend', log: 'l', record: 'd' }));
    expect(await readLog(after, 'l')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('after a failed fdatasync, an orderly restart reads no unacknowledged record, and what it acknowledges survives a crash', async () => {
    const disk = new SimDisk();
    let worker = simFileWorker(disk);
    ok(await worker.handle({ op: 'logAppend', log: 'l', record: 'a' }));
    disk.failFsync('/data/logs/l.log', 1);
    expect((await worker.handle({ op: 'logAppend', log: 'l', record: 'doomed' })).ok).toBe(false);
    await worker.close();
    worker = simFileWorker(disk);
    expect(await readLog(worker, 'l')).toEqual(['a']);
    ok(await worker.handle({ op: 'logAppend', log: 'l', record: 'acknowledged' }));
    disk.crash();
    expect(await readLog(simFileWorker(disk), 'l')).toEqual(['a', 'acknowledged']);
  });

  it('a failed directory fsync fails the replace; the old contents survive a crash', async () => {
    const disk = new SimDisk();
    disk.writeDurable('/data/x', 'old');
    const worker = simFileWorker(disk);
    disk.failFsync((path) => path === '/data');
    const reply = await worker.handle({ op: 'replace', path: 'x', data: 'new' });
    expect(reply.ok ? 'ok' : reply.error.code).toBe(ErrorCode.IO_ERROR);
    disk.crash();
    expect(await readText(simFileWorker(disk), 'x')).toBe('old');
  });

  it('ENOSPC past the capacity: nothing of the write lands, acknowledged records stay', async () => {
    const disk = new SimDisk({ capacityBytes: 1000 });
    const worker = simFileWorker(disk);
    const big = await worker.handle({ op: 'write', path: 'big', data: new Uint8Array(2000) });
    expect(big.ok ? 'ok' : big.error.code).toBe('ENOSPC');
    ok(await worker.handle({ op: 'logAppend', log: 'l', record: new Uint8Array(400) }));
    const full = await worker.handle({ op: 'logAppend', log: 'l', record: new Uint8Array(700) });
    expect(full.ok).toBe(false);
    if (full.ok) return;
    expect(full.error.code).toBe(ErrorCode.LOG_FAILED);
    expect(full.error.cause?.code).toBe('ENOSPC');
    expect(disk.usedBytes).toBeLessThanOrEqual(1000);
    disk.crash();
    const after = simFileWorker(disk);
    expect((await readLog(after, 'l')).map((record) => record.length)).toEqual([400]);
    expect(await readText(after, 'big')).toBe('');
  });

  it('holds and the delay hook: operations wait for the test, in order, and then take effect', async () => {
    const order: string[] = [];
    let gate: (() => void) | undefined;
    const disk = new SimDisk({
      beforeOperation: (operation) => {
        order.push(`${operation.kind} ${operation.path}`);
        if (operation.kind === 'sync' && gate === undefined) return new Promise<void>((resolve) => (gate = resolve));
        return undefined;
      },
    });
    const worker = simFileWorker(disk);
    const hold = disk.hold((operation) => operation.kind === 'write' && operation.path === '/data/slow');
    const slow = worker.handle({ op: 'write', path: 'slow', data: 'late' });
    const fast = await worker.handle({ op: 'write', path: 'fast', data: 'early' });
    expect(fast.ok).toBe(true);
    expect(hold.waiting.map((operation) => operation.path)).toEqual(['/data/slow']);
    expect(await readText(worker, 'slow')).toBeUndefined();
    hold.release();
    expect((await slow).ok).toBe(true);
    expect(await readText(worker, 'slow')).toBe('late');
    const synced = worker.handle({ op: 'fsync', path: 'slow' });
    for (let i = 0; i < 5 && gate === undefined; i++) await turn();
    expect(gate).toBeDefined();
    gate?.();
    expect((await synced).ok).toBe(true);
    expect(order).toContain('sync /data/slow');
  });

  it('a failed fsync loses the data it would have flushed for good; the size reaches the disk with the next fsync', async () => {
    const disk = new SimDisk({ random: () => 0.99 });
    disk.writeDurable('/f', 'AAAA');
    const fs = disk.fileSystem();
    const file = await fs.open('/f', 'r+');
    await file.writev([new TextEncoder().encode('BB')], 4);
    disk.failFsync('/f', 1);
    await expect(file.datasync()).rejects.toMatchObject({ code: 'EIO' });
    expect(new TextDecoder().decode(await fs.readFile('/f'))).toBe('AAAABB');
    await file.datasync();
    expect(disk.crash().torn).toEqual([]);
    expect(new TextDecoder().decode(await disk.fileSystem().readFile('/f'))).toBe('AAAA\0\0');
  });

  it('failFsync counts, and bad arguments are refused', async () => {
    const disk = new SimDisk();
    disk.writeDurable('/a', 'x');
    const fs = disk.fileSystem();
    disk.failFsync('/a', 2);
    const file = await fs.open('/a', 'r');
    await expect(file.sync()).rejects.toMatchObject({ code: 'EIO', syscall: 'fsync' });
    await expect(file.datasync()).rejects.toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    await file.sync();
    await file.close();
    await expect(file.sync()).rejects.toMatchObject({ code: 'EBADF' });
    expect(() => disk.failFsync('/a', 0)).toThrow(RangeError);
    expect(() => new SimDisk({ capacityBytes: -1 })).toThrow(RangeError);
    expect(() => disk.writeDurable('relative', 'x')).toThrow(RangeError);
    expect(() => disk.mkdirDurable('/a/b')).toThrow(/ENOTDIR/);
    expect(() => simFileWorker(disk, { dataDir: 'data' })).toThrow(RangeError);
    await expect(fs.open('/missing', 'r')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.open('/a', 'wx')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.readlink('/a')).rejects.toMatchObject({ code: 'EINVAL' });
    disk.symlink('/loop', '/loop');
    await expect(fs.stat('/loop')).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
