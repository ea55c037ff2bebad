/**
 * The file system seam: everything the file worker's code (service.ts, log.ts, atomic.ts,
 * paths.ts) asks of a disk, and nothing more. Production uses `nodeFileSystem`, a thin wrapper of
 * node:fs/promises (the same calls with the same arguments as before the seam, so the same
 * behaviour and cost); the testkit's `SimDisk` implements it in memory with honest durability and
 * injected faults, so the real FileService, DurableLog, atomic replace and path confinement run
 * unchanged over a simulated disk.
 *
 * Contract every implementation keeps (the code above it relies on these):
 * - Paths are absolute. Methods follow symlinks except `lstat`, `readlink`, `rm` and `rename`
 *   (which act on the link itself), as POSIX does.
 * - Errors are Node-style system errors: an `Error` with a string `code` (ENOENT, EISDIR,
 *   ENOTDIR, EEXIST, ENOTEMPTY, EINVAL, ELOOP, EIO, ENOSPC, EBADF), `syscall` and `path`, and
 *   Node's message format (`ENOENT: no such file or directory, open '<path>'`); `rm` of a
 *   directory without `recursive` fails as Node's does (`ERR_FS_EISDIR`). Callers match on `code`.
 * - Durability is POSIX's: `writeFile`, `appendFile`, handle writes and truncates reach the disk
 *   only when the file is fsync'd (`sync`/`datasync` on a handle); a name (create, rename,
 *   unlink, mkdir) only when its directory is fsync'd (open the directory with 'r', then `sync`).
 * - `readdir` order is unspecified (callers sort); `readFile` answers bytes that belong to the
 *   caller alone (their ArrayBuffer may be transferred to another thread).
 */

import { randomBytes } from 'node:crypto';
import {
  appendFile,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';

/**
 * How `open` opens a file, with Node's flag names:
 * - `'r'`: read only, must exist (a directory may be opened so, to fsync it);
 * - `'r+'`: read and write, must exist;
 * - `'wx'`: write only, created, fails with EEXIST if it exists;
 * - `'wx+'`: read and write, created, fails with EEXIST if it exists.
 * Files are created with mode 0o644 (minus the umask).
 */
export type OpenFlags = 'r' | 'r+' | 'wx' | 'wx+';

/** What `stat` and `lstat` answer (a subset of node's `Stats`, which satisfies it). */
export interface FileInfo {
  /** Size in bytes. */
  size: number;
  /** Last modification, in ms since the Unix epoch. */
  mtimeMs: number;
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a directory. */
  isDirectory(): boolean;
  /** True for a symlink (only `lstat` answers one). */
  isSymbolicLink(): boolean;
}

/** An open file: positional reads and writes, flushes, truncation. DurableLog's `LogFile` is this. */
export interface OpenFile {
  /** Reads up to `length` bytes at `position` into `buffer[offset..]`; resolves with the count read. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Writes the buffers in order at `position`; resolves with the count written. */
  writev(buffers: Uint8Array[], position: number): Promise<number>;
  /** fdatasync: the data and the metadata needed to read it back (the size) reach the disk. */
  datasync(): Promise<void>;
  /** fsync: like `datasync`, plus the rest of the metadata; on a directory, its entries. */
  sync(): Promise<void>;
  /** Cuts (or extends with zeros) the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** The file's size now. */
  size(): Promise<number>;
  /** Closes it; later calls fail with EBADF. */
  close(): Promise<void>;
}

/** The file system operations the file worker uses; see the contract above. */
export interface FileSystem {
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or truncates the file, then writes `data` (a string as UTF-8). */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** Appends `data` to the file, creating it if missing. */
  appendFile(path: string, data: Uint8Array | string): Promise<void>;
  /** What `path` names, symlinks followed. */
  stat(path: string): Promise<FileInfo>;
  /** What `path` names, a symlink itself if it is one. */
  lstat(path: string): Promise<FileInfo>;
  /** The names in a directory (any order). */
  readdir(path: string): Promise<string[]>;
  /** Creates the directory and any missing parents; resolves with the first one created (undefined if it existed). */
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  /** Removes a file, a symlink, or (with `recursive`) a directory tree; `force` ignores a missing path. */
  rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  /** Renames `from` to `to`, replacing `to` atomically if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** The absolute path without symlinks, `.` or `..`; the file must exist. */
  realpath(path: string): Promise<string>;
  /** A symlink's target, as written (EINVAL for anything else). */
  readlink(path: string): Promise<string>;
  /** Opens a file (or, with 'r', a directory, to fsync it). */
  open(path: string, flags: OpenFlags): Promise<OpenFile>;
  /**
   * A string for naming a temporary file that no concurrent caller gets (atomic replace names its
   * temp file with it). Real: pid and random bytes; simulated: a counter (deterministic).
   */
  tempSuffix(): string;
}

/** An OpenFile over a node:fs/promises FileHandle. */
class NodeOpenFile implements OpenFile {
  constructor(private readonly handle: FileHandle) {}

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, offset, length, position);
    return bytesRead;
  }

  async writev(buffers: Uint8Array[], position: number): Promise<number> {
    const { bytesWritten } = await this.handle.writev(buffers, position);
    return bytesWritten;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The real file system: node:fs/promises (libuv's thread pool does the blocking calls). */
export const nodeFileSystem: FileSystem = {
  readFile: (path) => readFile(path),
  writeFile: (path, data) => writeFile(path, data),
  appendFile: (path, data) => appendFile(path, data),
  stat: (path) => stat(path),
  lstat: (path) => lstat(path),
  readdir: (path) => readdir(path),
  mkdir: (path, options) => mkdir(path, options),
  rm: (path, options) => rm(path, options),
  rename: (from, to) => rename(from, to),
  realpath: (path) => realpath(path),
  readlink: (path) => readlink(path),
  open: async (path, flags) => new NodeOpenFile(await open(path, flags, 0o644)),
  tempSuffix: () => `${process.pid}.${randomBytes(6).toString('hex')}`,
};
