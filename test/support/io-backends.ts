// The two disks a test of durable code runs against unchanged: the real file system (a temp data
// directory) and a SimDisk. Both are the real FileService; only the file system under it differs.
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileService } from '../../src/fileio/service.js';
import type { IoReply, IoRequest } from '../../src/process/io.js';
import type { WireError } from '../../src/errors.js';
import { SimDisk } from '../../src/testkit/sim-disk.js';
import { simFileWorker, type SimFileWorker } from '../../src/testkit/sim-disk-worker.js';

export interface IoBackend {
  readonly name: 'real' | 'sim';
  /** The directory holding `data/` (and `outside/`): replaced by `<base>` when replies are compared. */
  readonly base: string;
  /** Answers a request as the file worker does (the request may be malformed on purpose). */
  io(request: unknown): Promise<IoReply>;
  /** Setup before the scenario, relative to `base`: durable on the disk. */
  mkdir(rel: string): Promise<void>;
  write(rel: string, data: string): Promise<void>;
  symlink(target: string, rel: string): Promise<void>;
  /** Closes the file service and starts a new one on the same disk (an orderly restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const READ_BYTES = 1024 * 1024;

export async function realBackend(): Promise<IoBackend> {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'horde-io-backend-')));
  const dataDir = join(base, 'data');
  await mkdir(dataDir);
  const start = (): FileService => new FileService({ dataDir, computeModules: [], preload: [], computeThreads: 1, readBytes: READ_BYTES });
  let service = start();
  return {
    name: 'real',
    base,
    io: (request) => service.handle(request),
    mkdir: async (rel) => {
      await mkdir(join(base, rel), { recursive: true });
    },
    write: (rel, data) => writeFile(join(base, rel), data),
    symlink: (target, rel) => symlink(target, join(base, rel)),
    restart: async () => {
      await service.close();
      service = start();
    },
    close: async () => {
      await service.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

export function simBackend(disk = new SimDisk()): IoBackend & { disk: SimDisk } {
  const base = '/sim';
  const dataDir = `${base}/data`;
  const start = (): SimFileWorker => simFileWorker(disk, { dataDir, readBytes: READ_BYTES });
  let worker = start();
  return {
    name: 'sim',
    base,
    disk,
    io: (request) => worker.handle(request as IoRequest),
    mkdir: (rel) => Promise.resolve(disk.mkdirDurable(`${base}/${rel}`)),
    write: (rel, data) => Promise.resolve(disk.writeDurable(`${base}/${rel}`, data)),
    symlink: (target, rel) => Promise.resolve(disk.symlink(target, `${base}/${rel}`)),
    restart: async () => {
      await worker.close();
      worker = start();
    },
    close: () => worker.close(),
  };
}

/** A reply as both disks must give it: bytes as arrays, no stacks or mtimes, `base` as `<base>`, temp names as `<temp>`. */
export function comparable(reply: IoReply, base: string): unknown {
  if (!reply.ok) return { ok: false, error: comparableError(reply.error, base) };
  return { ok: true, value: comparableValue(reply.value) };
}

function comparableError(error: WireError, base: string): unknown {
  return {
    code: error.code,
    name: error.name,
    // Temporary files are named by the file system (pid and random bytes; a counter on a SimDisk).
    message: error.message.replaceAll(base, '<base>').replace(/\.(?:\d+\.[0-9a-f]{12}|sim\.\d+)\.tmp/g, '.<temp>.tmp'),
    ...(error.cause === undefined ? {} : { cause: comparableError(error.cause, base) }),
  };
}

function comparableValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(comparableValue);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([key]) => key !== 'mtimeMs');
    const record = Object.fromEntries(entries.map(([key, inner]) => [key, comparableValue(inner)]));
    // A directory's size is the file system's business (4,096 on ext4, other sizes elsewhere).
    if (record.isDirectory === true) delete record.size;
    return record;
  }
  return value;
}
