/**
 * The simulated file worker: the real FileService (src/fileio/service.ts: validation, path
 * confinement, files, atomic replace, durable logs with their framing, checksums, group commit and
 * recovery) over a SimDisk instead of node:fs. Nothing here re-implements a request: a test of
 * durable code sends the same `IoRequest`s and gets the same `IoReply`s as from a node's file
 * worker, and a crash of the disk is a crash of this worker.
 *
 * One worker is one incarnation: it uses the disk's file system of the moment it is made. After
 * `disk.crash()`, the old worker's requests fail (its file system is dead) and a new
 * `simFileWorker(disk)` is the restarted node, finding only what was durable. `compute` requests
 * are not part of the disk: they go to FileService's piscina pool as in production (a test that
 * sends none starts no thread).
 */

import { DEFAULT_READ_BYTES } from '../fileio/log.js';
import { FileService } from '../fileio/service.js';
import type { IoReply, IoRequest } from '../process/io.js';
import type { SimDisk } from './sim-disk.js';

/** Options of `simFileWorker`. */
export interface SimFileWorkerOptions {
  /** The data directory on the simulated disk (absolute). Created, durably, if missing. Default '/data'. */
  dataDir?: string;
  /** The default `maxBytes` of a `logRead` (a node uses a quarter of a ring record). Default 1 MiB. */
  readBytes?: number;
  /** Compute modules for `compute` requests (URLs or paths, as a node's `computeModules`). Default none. */
  computeModules?: string[];
}

/** A file worker over a SimDisk: answers `ctx.io` requests as a node's file worker does. */
export interface SimFileWorker {
  /** The data directory its paths are relative to. */
  readonly dataDir: string;
  /** Answers one request (never rejects: failures are `{ ok: false, error }`). */
  handle(request: IoRequest): Promise<IoReply>;
  /** Closes its logs (after their in-flight appends) as a node's orderly stop does. Not needed after a crash. */
  close(): Promise<void>;
}

/** A file worker for the disk's current incarnation; see the module note. */
export function simFileWorker(disk: SimDisk, options: SimFileWorkerOptions = {}): SimFileWorker {
  const dataDir = options.dataDir ?? '/data';
  if (!dataDir.startsWith('/')) throw new RangeError(`simFileWorker dataDir must be absolute; got ${JSON.stringify(dataDir)}`);
  disk.mkdirDurable(dataDir);
  const service = new FileService({
    dataDir,
    computeModules: options.computeModules ?? [],
    preload: [],
    computeThreads: 1,
    readBytes: options.readBytes ?? DEFAULT_READ_BYTES,
    fs: disk.fileSystem(),
  });
  return {
    dataDir,
    handle: (request) => service.handle(request),
    close: () => service.close(),
  };
}
