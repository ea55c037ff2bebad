// Durable-code scenarios run unchanged against the real file worker's file system (a temp data
// directory) and a SimDisk: every reply is checked on both, and the two transcripts must be
// identical (mtimes, stacks and the base directory aside).
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { IoReply, LogReadAnswer } from '../../src/process/io.js';
import { comparable, realBackend, simBackend, type IoBackend } from '../support/io-backends.js';

type Step = (request: unknown) => Promise<IoReply>;
type Scenario = (backend: IoBackend, step: Step) => Promise<void>;

const open: IoBackend[] = [];

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((backend) => backend.close()));
});

/** Runs `scenario` on one backend; returns its transcript of comparable replies. */
async function transcript(make: () => Promise<IoBackend> | IoBackend, scenario: Scenario): Promise<unknown[]> {
  const backend = await make();
  open.push(backend);
  const replies: unknown[] = [];
  const step: Step = async (request) => {
    const reply = await backend.io(request);
    replies.push({ request: describeRequest(request), reply: comparable(reply, backend.base) });
    return reply;
  };
  await scenario(backend, step);
  return replies;
}

function describeRequest(request: unknown): unknown {
  if (typeof request !== 'object' || request === null) return request;
  return Object.fromEntries(Object.entries(request).map(([key, value]) => [key, value instanceof Uint8Array ? `<${value.length} bytes>` : value]));
}

/** Runs the scenario on both disks and compares the transcripts. */
async function onBoth(scenario: Scenario): Promise<void> {
  const real = await transcript(realBackend, scenario);
  const sim = await transcript(() => simBackend(), scenario);
  expect(sim).toEqual(real);
}

function ok(reply: IoReply): unknown {
  if (!reply.ok) throw new Error(`expected ok, got ${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}

function code(reply: IoReply): string {
  if (reply.ok) throw new Error(`expected an error, got ${JSON.stringify(reply.value)}`);
  return reply.error.code;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('the same io requests, the same answers, on the real disk and a SimDisk', () => {
  it('write, read, append, fsync, stat, list, remove', () =>
    onBoth(async (b, step) => {
      await b.mkdir('data/sub/deeper');
      await b.write('data/sub/old.txt', 'old');
      expect(ok(await step({ op: 'write', path: 'a.txt', data: 'hello' }))).toBeNull();
      expect(ok(await step({ op: 'read', path: 'a.txt', encoding: 'utf8' }))).toBe('hello');
      expect(ok(await step({ op: 'append', path: 'a.txt', data: text(' world') }))).toBeNull();
      expect(ok(await step({ op: 'read', path: 'a.txt' }))).toEqual(text('hello world'));
      expect(ok(await step({ op: 'fsync', path: 'a.txt' }))).toBeNull();
      expect(ok(await step({ op: 'stat', path: 'a.txt' }))).toMatchObject({ size: 11, isFile: true, isDirectory: false });
      expect(ok(await step({ op: 'stat', path: '.' }))).toMatchObject({ isFile: false, isDirectory: true });
      expect(ok(await step({ op: 'append', path: 'sub/new.log', data: '' }))).toBeNull();
      expect(ok(await step({ op: 'write', path: 'sub/empty', data: new Uint8Array(0) }))).toBeNull();
      expect(ok(await step({ op: 'list', path: '.' }))).toEqual(['a.txt', 'sub']);
      expect(ok(await step({ op: 'list', path: 'sub' }))).toEqual(['deeper', 'empty', 'new.log', 'old.txt']);
      expect(ok(await step({ op: 'read', path: 'sub/empty', encoding: 'utf8' }))).toBe('');
      expect(ok(await step({ op: 'write', path: 'sub/old.txt', data: 'new' }))).toBeNull();
      expect(ok(await step({ op: 'read', path: 'sub/old.txt', encoding: 'utf8' }))).toBe('new');
      // Errors of the file system keep their codes and messages.
      expect(code(await step({ op: 'read', path: 'missing' }))).toBe('ENOENT');
      expect(code(await step({ op: 'read', path: 'sub' }))).toBe('EISDIR');
      expect(code(await step({ op: 'write', path: 'sub', data: 'x' }))).toBe('EISDIR');
      expect(code(await step({ op: 'append', path: 'nope/x', data: 'x' }))).toBe('ENOENT');
      expect(code(await step({ op: 'write', path: 'nope/x', data: 'x' }))).toBe('ENOENT');
      expect(code(await step({ op: 'stat', path: 'missing' }))).toBe('ENOENT');
      expect(code(await step({ op: 'list', path: 'a.txt' }))).toBe('ENOTDIR');
      expect(code(await step({ op: 'list', path: 'missing' }))).toBe('ENOENT');
      expect(code(await step({ op: 'fsync', path: 'missing' }))).toBe('ENOENT');
      expect(code(await step({ op: 'remove', path: 'missing' }))).toBe('ENOENT');
      expect(code(await step({ op: 'remove', path: 'sub' }))).toBe('ERR_FS_EISDIR');
      expect(ok(await step({ op: 'remove', path: 'a.txt' }))).toBeNull();
      expect(code(await step({ op: 'read', path: 'a.txt' }))).toBe('ENOENT');
      expect(ok(await step({ op: 'remove', path: 'sub', recursive: true }))).toBeNull();
      expect(ok(await step({ op: 'list', path: '.' }))).toEqual([]);
    }));

  it('replace: new files, replaced files, no temporary file left, refusals', () =>
    onBoth(async (b, step) => {
      await b.mkdir('data/conf');
      await b.write('data/conf/app.json', '{"v":1}');
      expect(ok(await step({ op: 'replace', path: 'conf/app.json', data: '{"v":2}' }))).toBeNull();
      expect(ok(await step({ op: 'read', path: 'conf/app.json', encoding: 'utf8' }))).toBe('{"v":2}');
      expect(ok(await step({ op: 'replace', path: 'fresh.bin', data: new Uint8Array([1, 2, 3]) }))).toBeNull();
      expect(ok(await step({ op: 'replace', path: 'fresh.bin', data: new Uint8Array(0) }))).toBeNull();
      expect(ok(await step({ op: 'stat', path: 'fresh.bin' }))).toMatchObject({ size: 0, isFile: true });
      expect(ok(await step({ op: 'list', path: 'conf' }))).toEqual(['app.json']);
      expect(ok(await step({ op: 'list', path: '.' }))).toEqual(['conf', 'fresh.bin']);
      expect(code(await step({ op: 'replace', path: 'no/dir.json', data: 'x' }))).toBe(ErrorCode.IO_ERROR);
      expect(code(await step({ op: 'replace', path: 'conf', data: 'x' }))).toBe(ErrorCode.IO_ERROR);
      expect(ok(await step({ op: 'list', path: 'conf' }))).toEqual(['app.json']);
    }));

  it('path confinement and malformed requests', () =>
    onBoth(async (b, step) => {
      await b.mkdir('outside');
      await b.write('outside/secret.txt', 'secret');
      await b.write('data/file.txt', 'inside');
      await b.symlink('../outside', 'data/out');
      await b.symlink(`${b.base}/outside/secret.txt`, 'data/abs');
      await b.symlink('file.txt', 'data/alias');
      await b.symlink('loop2', 'data/loop1');
      await b.symlink('loop1', 'data/loop2');
      const OUT = ErrorCode.PATH_OUTSIDE_DATA_DIR;
      const BAD = ErrorCode.INVALID_PATH;
      for (const path of ['../outside/secret.txt', '/etc/passwd', 'a/../../x', 'out/secret.txt', 'out', 'abs', 'out/new.txt']) {
        expect(code(await step({ op: 'read', path }))).toBe(OUT);
      }
      expect(code(await step({ op: 'write', path: 'out/new.txt', data: 'x' }))).toBe(OUT);
      expect(code(await step({ op: 'replace', path: 'abs', data: 'x' }))).toBe(OUT);
      for (const path of ['', 'a\0b', 'a\\b', 'a\uD800b', 'loop1/x', 'file.txt/x', 'missing/../x']) {
        expect(code(await step({ op: 'read', path }))).toBe(BAD);
      }
      expect(code(await step({ op: 'write', path: '.', data: 'x' }))).toBe(BAD);
      expect(code(await step({ op: 'remove', path: '.', recursive: true }))).toBe(BAD);
      expect(ok(await step({ op: 'read', path: 'alias', encoding: 'utf8' }))).toBe('inside');
      expect(ok(await step({ op: 'list', path: '.' }))).toEqual(['abs', 'alias', 'file.txt', 'loop1', 'loop2', 'out']);
      for (const request of [null, 'read', { op: 'nope' }, { op: 'read' }, { op: 'write', path: 'x' }, { op: 'logRead', log: 'l', offset: -1 }, { op: 'logAppend', log: 'l', record: 5 }]) {
        expect(code(await step(request))).toBe(ErrorCode.INVALID_IO_REQUEST);
      }
    }));

  it('durable logs: append, paging by records and bytes, bad offsets and names, reopen', () =>
    onBoth(async (b, step) => {
      const sizes = [0, 5, 300, 12, 70_000, 1, 40];
      const offsets: number[] = [];
      for (const [i, size] of sizes.entries()) {
        const answer = ok(await step({ op: 'logAppend', log: 'events', record: new Uint8Array(size).fill(i + 1) })) as { offset: number; length: number };
        expect(answer.length).toBe(size);
        offsets.push(answer.offset);
      }
      // Appends in one turn are one group commit, in call order.
      const together = await Promise.all([step({ op: 'logAppend', log: 'events', record: 'x' }), step({ op: 'logAppend', log: 'events', record: 'yy' })]);
      expect(together.map((reply) => (ok(reply) as { offset: number }).offset)).toEqual([offsets[6]! + 12 + 40, offsets[6]! + 12 + 40 + 13]);
      const readAll = async (maxRecords: number, maxBytes?: number): Promise<number[]> => {
        const lengths: number[] = [];
        let offset = 0;
        for (;;) {
          const answer = ok(await step({ op: 'logRead', log: 'events', offset, maxRecords, ...(maxBytes === undefined ? {} : { maxBytes }) })) as LogReadAnswer;
          lengths.push(...answer.records.map((record) => record.data.length));
          if (answer.nextOffset === answer.endOffset) return lengths;
          offset = answer.nextOffset;
        }
      };
      const all = [...sizes, 1, 2];
      expect(await readAll(2)).toEqual(all);
      expect(await readAll(100, 400)).toEqual(all);
      expect(ok(await step({ op: 'logRead', log: 'fresh', offset: 0 }))).toEqual({ records: [], nextOffset: 0, endOffset: 0 });
      expect(code(await step({ op: 'logRead', log: 'events', offset: 3 }))).toBe(ErrorCode.INVALID_OFFSET);
      expect(code(await step({ op: 'logRead', log: 'events', offset: 10_000_000 }))).toBe(ErrorCode.INVALID_OFFSET);
      expect(code(await step({ op: 'logAppend', log: '../escape', record: 'x' }))).toBe(ErrorCode.INVALID_PATH);
      expect(code(await step({ op: 'logRead', log: '', offset: 0 }))).toBe(ErrorCode.INVALID_PATH);
      await b.restart();
      expect(await readAll(3)).toEqual(all);
      const after = ok(await step({ op: 'logAppend', log: 'events', record: 'after' })) as { offset: number };
      expect(after.offset).toBeGreaterThan(offsets[6]!);
      expect(ok(await step({ op: 'list', path: 'logs' }))).toEqual(['events.log', 'fresh.log']);
      expect(ok(await step({ op: 'stat', path: 'logs/events.log' }))).toMatchObject({ isFile: true });
    }));
});
