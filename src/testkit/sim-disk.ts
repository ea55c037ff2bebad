/**
 * SimDisk: a simulated disk in memory, behind the file worker's file system seam
 * (`src/fileio/file-system.ts`). The real FileService, DurableLog, atomic replace and path
 * confinement run over it unchanged; only the disk is simulated. Deterministic: no real time (the
 * clock is `options.now`, default 0), no Math.random (tearing asks `options.random`), `readdir`
 * answers in sorted order, and every operation takes effect in the order it is called.
 *
 * ## Durability model (what survives `crash()`)
 *
 * A power loss on a POSIX file system that promises only what fsync(2) promises (ext4 with
 * delayed allocation, without relying on its journal ordering):
 * - Each file has a durable image and the writes and truncates made since its last fsync
 *   (pending). `sync`/`datasync` on any handle of it makes the current contents durable (the
 *   two are the same here: the size is data).
 * - Each directory has durable entries and current entries. A create, mkdir, rename or unlink
 *   changes the current entries; it becomes durable only when that directory is fsync'd (open it
 *   with 'r', then `sync`), all of its entries at once. A rename between two directories is two
 *   changes, each durable with its own directory. Fsyncing a file never makes its name durable.
 * - `crash()` (kill -9 of the node and loss of its page cache): every directory goes back to its
 *   durable entries (a directory whose own name was not durable disappears with its contents),
 *   every file to its durable image, except that the last pending write of each file may have
 *   reached the disk in part: a prefix of `floor(random() * (length + 1))` of its bytes lands at
 *   its position (the gap past the durable end, if any, reads as zeros). `random` is the injected
 *   seeded function; the default `() => 0` never tears. Files are visited in creation order, so a
 *   seed gives the same crash.
 * - A failed fsync (`failFsync`) loses the pending writes' data for good: they stay visible
 *   until a crash, but a later successful fsync does not make them durable (Linux marks the dirty
 *   pages clean after a writeback error; this is why DurableLog never retries a failed fsync).
 *   The file's size is metadata written from memory: the next successful fsync makes the current
 *   size durable, so a lost write inside it reads as zeros and a truncation is not lost.
 * - After `crash()`, every FileSystem the disk handed out before is dead: its calls (and calls
 *   waiting in a hold) reject with EIO and change nothing. `fileSystem()` gives the next
 *   incarnation's view, on which a new FileService finds only the durable state.
 *
 * ## Faults and time
 * - `failFsync(match, count)`: the next `count` (default every) fsyncs and fdatasyncs of a path
 *   that starts with `match` (or satisfies it, for a predicate) reject with EIO.
 * - `options.beforeOperation(op)`: called before every operation takes effect; a promise it
 *   returns delays the operation until it settles (how a simulator makes writes slow on its own
 *   clock). `hold(match)` holds matching operations until the test calls `release()`.
 * - `capacityBytes` (default 1 GiB): the current size of all files together may not exceed it;
 *   a write past it fails with ENOSPC and changes nothing (`writeFile` has truncated the file
 *   first, as the real call has). Memory is bounded by about twice that: durable images and
 *   pending writes are kept beside the current contents.
 *
 * Errors look like node:fs's (code, errno, syscall, path, and Node's message format), so replies
 * compare equal to the real file worker's. Paths are absolute POSIX paths; the root `/` exists.
 * `symlink`, `mkdirDurable` and `writeDurable` set up a disk before a test (already durable).
 *
 * Not modelled: permissions (no EACCES), modes, hard links, atimes, short writes, read errors;
 * `mkdir` only with `recursive`. A file unlinked while open keeps counting against the capacity
 * until the next crash.
 */

import { posix } from 'node:path';
import type { FileInfo, FileSystem, OpenFile, OpenFlags } from '../fileio/file-system.js';

/** An operation about to take effect on a SimDisk, as `beforeOperation` and `hold` see it. */
export interface SimDiskOperation {
  /** The call: 'open', 'read', 'write' (writes, appends, writeFile), 'truncate', 'sync' (fsync and fdatasync), 'stat', 'readdir', 'mkdir', 'rm', 'rename', 'resolve' (realpath, readlink), 'close'. */
  kind: 'open' | 'read' | 'write' | 'truncate' | 'sync' | 'stat' | 'readdir' | 'mkdir' | 'rm' | 'rename' | 'resolve' | 'close';
  /** The absolute path it concerns (for a handle, the path it was opened with). */
  path: string;
  /** The incarnation that calls it: 0 until the first crash, then 1, ... */
  incarnation: number;
}

/** Options of a SimDisk. */
export interface SimDiskOptions {
  /** A seeded generator in [0, 1): how much of a torn write survives a crash. Default `() => 0` (nothing unsynced survives). */
  random?: () => number;
  /** The clock for modification times, in ms. Default `() => 0`. */
  now?: () => number;
  /** Largest total size of the files, in bytes (ENOSPC past it). Default 1 GiB. */
  capacityBytes?: number;
  /** Called before each operation takes effect; the operation waits for a promise it returns. */
  beforeOperation?: (operation: SimDiskOperation) => Promise<void> | void;
}

/** What `crash()` reports. */
export interface SimCrash {
  /** The incarnation that begins now. */
  incarnation: number;
  /** Bytes of unsynced writes and truncates lost. */
  lostBytes: number;
  /** Writes that survived in part (torn), by path, with how many of their bytes survived. */
  torn: {
    /** The file. */
    path: string;
    /** Bytes of the write that reached the disk. */
    kept: number;
    /** Bytes the write had. */
    of: number;
  }[];
}

/** Operations held by `SimDisk.hold` until `release()`. */
export interface SimHold {
  /** The operations waiting now, in the order they arrived. */
  readonly waiting: readonly SimDiskOperation[];
  /** Lets the waiting operations proceed (in arrival order) and stops holding new ones. */
  release(): void;
}

const DEFAULT_CAPACITY = 1024 * 1024 * 1024;
const MAX_SYMLINKS = 40;
const DIRECTORY_SIZE = 4096;

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [-2, 'no such file or directory'],
  EIO: [-5, 'i/o error'],
  EBADF: [-9, 'bad file descriptor'],
  EEXIST: [-17, 'file already exists'],
  ENOTDIR: [-20, 'not a directory'],
  EISDIR: [-21, 'illegal operation on a directory'],
  EINVAL: [-22, 'invalid argument'],
  ENOSPC: [-28, 'no space left on device'],
  ENOTEMPTY: [-39, 'directory not empty'],
  ELOOP: [-40, 'too many symbolic links encountered'],
};

/** A Node-style system error: `CODE: description, syscall 'path'`. */
function fsError(code: string, syscall: string, path?: string, dest?: string, note?: string): Error {
  const [errno, description] = ERRNO[code] ?? [-5, 'i/o error'];
  let message = `${code}: ${description}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  if (dest !== undefined) message += ` -> '${dest}'`;
  if (note !== undefined) message += ` (${note})`;
  const error = new Error(message) as Error & Record<string, unknown>;
  error.errno = errno;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  if (dest !== undefined) error.dest = dest;
  return error;
}

/** A growable byte array. */
class Bytes {
  buffer = new Uint8Array(0);
  size = 0;

  view(): Uint8Array {
    return this.buffer.subarray(0, this.size);
  }

  write(position: number, data: Uint8Array): void {
    const end = position + data.length;
    this.reserve(end);
    if (position > this.size) this.buffer.fill(0, this.size, position);
    this.buffer.set(data, position);
    if (end > this.size) this.size = end;
  }

  truncate(length: number): void {
    if (length > this.size) {
      this.reserve(length);
      this.buffer.fill(0, this.size, length);
    }
    this.size = length;
  }

  copy(): Bytes {
    const copy = new Bytes();
    copy.buffer = this.buffer.slice(0, this.size);
    copy.size = this.size;
    return copy;
  }

  private reserve(length: number): void {
    if (length <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(length, this.buffer.length * 2, 64));
    grown.set(this.buffer.subarray(0, this.size));
    this.buffer = grown;
  }
}

type Pending = { kind: 'write'; position: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

interface FileNode {
  kind: 'file';
  id: number;
  data: Bytes;
  durable: Bytes;
  pending: Pending[];
  mtimeMs: number;
}

interface DirNode {
  kind: 'dir';
  id: number;
  entries: Map<string, Node>;
  durable: Map<string, Node>;
  mtimeMs: number;
}

interface LinkNode {
  kind: 'link';
  id: number;
  target: string;
  mtimeMs: number;
}

type Node = FileNode | DirNode | LinkNode;

/** Where a path leads: the directory holding its last component, that name, and what it names. */
interface Walked {
  parent: DirNode;
  name: string;
  node: Node | undefined;
  /** The real path of what it names. */
  real: string;
}

/** A FileInfo of a simulated node. */
function infoOf(node: Node): FileInfo {
  const size = node.kind === 'file' ? node.data.size : node.kind === 'dir' ? DIRECTORY_SIZE : node.target.length;
  const { kind, mtimeMs } = node;
  return {
    size,
    mtimeMs,
    isFile: () => kind === 'file',
    isDirectory: () => kind === 'dir',
    isSymbolicLink: () => kind === 'link',
  };
}

function encode(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/** The disk's state and the rules of every operation; SimDisk is its public face. */
class DiskState {
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly capacity: number;
  private readonly beforeOperation: ((operation: SimDiskOperation) => Promise<void> | void) | undefined;
  private root: DirNode;
  private nextId = 1;
  private used = 0;
  private incarnationNumber = 0;
  private view: SimFileSystem;
  private tempCounter = 0;
  private readonly fsyncFaults: { match: (path: string) => boolean; left: number }[] = [];
  private readonly holds: HoldState[] = [];

  constructor(options: SimDiskOptions = {}) {
    this.random = options.random ?? (() => 0);
    this.now = options.now ?? (() => 0);
    const capacity = options.capacityBytes ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`SimDisk capacityBytes must be an integer >= 0; got ${String(capacity)}`);
    this.capacity = capacity;
    this.beforeOperation = options.beforeOperation;
    this.root = this.newDir();
    this.view = new SimFileSystem(this, 0);
  }

  get incarnation(): number {
    return this.incarnationNumber;
  }

  get usedBytes(): number {
    return this.used;
  }

  fileSystem(): FileSystem {
    return this.view;
  }

  /**
   * Kills the current incarnation and loses everything it did not fsync (see the durability
   * model above); its file systems are dead from now on. Returns what was lost.
   */
  crash(): SimCrash {
    const report: SimCrash = { incarnation: this.incarnationNumber + 1, lostBytes: 0, torn: [] };
    const files: { node: FileNode; path: string }[] = [];
    const dirs: DirNode[] = [];
    // Walk what is durable, in name order (deterministic), rebuilding the current entries.
    const visit = (dir: DirNode, path: string): void => {
      dirs.push(dir);
      for (const name of [...dir.durable.keys()].sort()) {
        const node = dir.durable.get(name) as Node;
        const child = posix.join(path, name);
        if (node.kind === 'dir') visit(node, child);
        else if (node.kind === 'file') files.push({ node, path: child });
      }
    };
    visit(this.root, '/');
    for (const dir of dirs) dir.entries = new Map(dir.durable);
    // A file linked twice (a rename whose two directories were synced apart) is visited once.
    const seen = new Set<number>();
    files.sort((a, b) => a.node.id - b.node.id);
    this.used = 0;
    for (const { node, path } of files) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      for (const op of node.pending) report.lostBytes += op.kind === 'write' ? op.bytes.length : 0;
      const last = node.pending[node.pending.length - 1];
      if (last?.kind === 'write' && last.bytes.length > 0) {
        const kept = Math.min(last.bytes.length, Math.max(0, Math.floor(this.random() * (last.bytes.length + 1))));
        if (kept > 0) {
          node.durable.write(last.position, last.bytes.subarray(0, kept));
          report.lostBytes -= kept;
          report.torn.push({ path, kept, of: last.bytes.length });
        }
      }
      node.pending = [];
      node.data = node.durable.copy();
      this.used += node.data.size;
    }
    for (const hold of this.holds) hold.wakeAll();
    this.holds.length = 0;
    this.incarnationNumber++;
    this.view = new SimFileSystem(this, this.incarnationNumber);
    return report;
  }

  /**
   * Makes the next `count` fsyncs and fdatasyncs (default: all from now on) of matching paths
   * fail with EIO: paths that start with `match`, or for which it returns true. What they would
   * have flushed is lost (see the durability model).
   */
  failFsync(match: string | ((path: string) => boolean), count = Number.POSITIVE_INFINITY): void {
    if (!(count >= 1)) throw new RangeError(`failFsync count must be >= 1; got ${String(count)}`);
    const test = typeof match === 'string' ? (path: string) => path.startsWith(match) : match;
    this.fsyncFaults.push({ match: test, left: count });
  }

  /** Holds every operation `match` accepts until `release()` (a slow or stuck disk, on the test's clock). */
  hold(match: (operation: SimDiskOperation) => boolean): SimHold {
    const state = new HoldState(match, (held) => {
      const at = this.holds.indexOf(held);
      if (at >= 0) this.holds.splice(at, 1);
    });
    this.holds.push(state);
    return state;
  }

  /** Setup: creates directory `path` and its parents, durable at once (names included). */
  mkdirDurable(path: string): void {
    this.setupParent(posix.join(path, '.keep'));
  }

  /** Setup: writes file `path` (parents created), durable at once (contents and names). */
  writeDurable(path: string, data: Uint8Array | string): void {
    const { parent, name } = this.setupParent(path);
    const existing = parent.entries.get(name);
    if (existing !== undefined && existing.kind !== 'file') throw fsError('EISDIR', 'open', path);
    const node = existing ?? this.newFile();
    this.resize(node, 0);
    const bytes = encode(data);
    this.grow(bytes.length, 'write');
    node.data.write(0, bytes);
    this.used += bytes.length;
    node.durable = node.data.copy();
    node.pending = [];
    parent.entries.set(name, node);
    parent.durable.set(name, node);
  }

  /** Setup: creates a symlink at `path` pointing to `target`, durable at once. */
  symlink(target: string, path: string): void {
    const { parent, name } = this.setupParent(path);
    if (parent.entries.has(name)) throw fsError('EEXIST', 'symlink', target, path);
    const link: LinkNode = { kind: 'link', id: this.nextId++, target, mtimeMs: this.now() };
    parent.entries.set(name, link);
    parent.durable.set(name, link);
  }

  // ---- internals used by SimFileSystem and SimOpenFile ----

  /** Waits for the hook and holds, then checks that `incarnation` still lives. */
  async enter(operation: SimDiskOperation): Promise<void> {
    this.checkAlive(operation);
    const delay = this.beforeOperation?.(operation);
    if (delay !== undefined) await delay;
    for (const hold of [...this.holds]) {
      if (hold.match(operation)) await hold.wait(operation);
    }
    this.checkAlive(operation);
  }

  walk(path: string, followLast: boolean, syscall: string, reportPath = path): Walked {
    if (typeof path !== 'string' || path.length === 0) throw fsError('ENOENT', syscall, String(path));
    const stack: { name: string; dir: DirNode }[] = [{ name: '', dir: this.root }];
    const queue = path.split('/').filter((part) => part !== '' && part !== '.');
    let links = 0;
    const top = (): DirNode => (stack[stack.length - 1] as { dir: DirNode }).dir;
    const realOf = (extra?: string): string => {
      const names = stack.slice(1).map((entry) => entry.name);
      if (extra !== undefined) names.push(extra);
      return `/${names.join('/')}`;
    };
    for (;;) {
      const name = queue.shift();
      if (name === undefined) {
        // The path named a directory we stand in ('/', 'a/..').
        const dir = top();
        if (stack.length === 1) return { parent: dir, name: '', node: dir, real: '/' };
        const parent = (stack[stack.length - 2] as { dir: DirNode }).dir;
        return { parent, name: (stack[stack.length - 1] as { name: string }).name, node: dir, real: realOf() };
      }
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const last = queue.length === 0;
      const dir = top();
      const node = dir.entries.get(name);
      if (node === undefined) {
        if (last) return { parent: dir, name, node: undefined, real: realOf(name) };
        throw fsError('ENOENT', syscall, reportPath);
      }
      if (node.kind === 'link' && (!last || followLast)) {
        if (++links > MAX_SYMLINKS) throw fsError('ELOOP', syscall, reportPath);
        if (node.target.startsWith('/')) stack.splice(1);
        queue.unshift(...node.target.split('/').filter((part) => part !== '' && part !== '.'));
        continue;
      }
      if (last) return { parent: dir, name, node, real: realOf(name) };
      if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, reportPath);
      stack.push({ name, dir: node });
    }
  }

  newFile(): FileNode {
    return { kind: 'file', id: this.nextId++, data: new Bytes(), durable: new Bytes(), pending: [], mtimeMs: this.now() };
  }

  newDir(): DirNode {
    return { kind: 'dir', id: this.nextId++, entries: new Map(), durable: new Map(), mtimeMs: this.now() };
  }

  /** Fails with ENOSPC unless `extra` more bytes fit. */
  grow(extra: number, syscall: string): void {
    if (extra > 0 && this.used + extra > this.capacity) throw fsError('ENOSPC', syscall);
  }

  /** Writes into a file's current contents, recording the write as pending. */
  writeAt(node: FileNode, position: number, bytes: Uint8Array, syscall: string): void {
    const end = position + bytes.length;
    this.grow(end - node.data.size, syscall);
    if (end > node.data.size) this.used += end - node.data.size;
    node.data.write(position, bytes);
    node.pending.push({ kind: 'write', position, bytes: bytes.slice() });
    node.mtimeMs = this.now();
  }

  truncateTo(node: FileNode, length: number): void {
    this.grow(length - node.data.size, 'ftruncate');
    this.resize(node, length);
    node.pending.push({ kind: 'truncate', length });
    node.mtimeMs = this.now();
  }

  /** fsync/fdatasync of a file or directory, or EIO from an injected fault. */
  sync(node: Node, path: string, syscall: string): void {
    const fault = this.fsyncFaults.find((candidate) => candidate.left > 0 && candidate.match(path));
    if (fault !== undefined) {
      fault.left--;
      if (node.kind === 'file') node.pending = [];
      throw fsError('EIO', syscall, undefined, undefined, `simulated fsync failure of ${path}`);
    }
    if (node.kind === 'file') {
      for (const op of node.pending) {
        if (op.kind === 'write') node.durable.write(op.position, op.bytes);
        else node.durable.truncate(op.length);
      }
      node.pending = [];
      // The size is inode metadata, written from memory: it reaches the disk even when a failed
      // fsync lost writes before (whose bytes then read as zeros). Without one, a no-op.
      if (node.durable.size !== node.data.size) node.durable.truncate(node.data.size);
    } else if (node.kind === 'dir') {
      node.durable = new Map(node.entries);
    }
  }

  /** Drops a name: a file's bytes stop counting when nothing current links it (handles aside). */
  unlinked(node: Node): void {
    if (node.kind === 'file') this.used -= node.data.size;
    else if (node.kind === 'dir') for (const child of node.entries.values()) this.unlinked(child);
  }

  linked(node: Node): void {
    if (node.kind === 'file') this.used += node.data.size;
    else if (node.kind === 'dir') for (const child of node.entries.values()) this.linked(child);
  }

  tempSuffix(): string {
    return `sim.${this.tempCounter++}`;
  }

  stamp(): number {
    return this.now();
  }

  private resize(node: FileNode, length: number): void {
    this.used += length - node.data.size;
    node.data.truncate(length);
  }

  private checkAlive(operation: SimDiskOperation): void {
    if (operation.incarnation !== this.incarnationNumber) {
      throw fsError('EIO', operation.kind, operation.path, undefined, `incarnation ${operation.incarnation} crashed: its file system is gone`);
    }
  }

  /** For setup: the directory that holds `path`, created durably. */
  private setupParent(path: string): { parent: DirNode; name: string } {
    if (!path.startsWith('/')) throw new RangeError(`SimDisk setup paths are absolute; got ${JSON.stringify(path)}`);
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    const name = parts.pop();
    if (name === undefined || parts.includes('..') || name === '..') throw new RangeError(`SimDisk setup path ${JSON.stringify(path)} must name an entry without '..'`);
    let dir = this.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (next === undefined) {
        next = this.newDir();
        dir.entries.set(part, next);
        dir.durable.set(part, next);
      }
      if (next.kind !== 'dir') throw fsError('ENOTDIR', 'mkdir', path);
      dir = next;
    }
    return { parent: dir, name };
  }
}

/**
 * A simulated disk for the file worker (see the design note at the top of this module): honest
 * durability across `crash()`, injected fsync failures, slow or held operations, a capacity.
 * `simFileWorker(disk)` runs the real FileService over it; `fileSystem()` is what it runs on.
 */
export class SimDisk {
  private readonly state: DiskState;

  /** An empty disk (only `/` exists); see SimDiskOptions for the seeded tearing, clock, capacity and hook. */
  constructor(options: SimDiskOptions = {}) {
    this.state = new DiskState(options);
  }

  /** The incarnation running now: 0 until the first crash, then 1, ... */
  get incarnation(): number {
    return this.state.incarnation;
  }

  /** Bytes the files take now (what `capacityBytes` bounds). */
  get usedBytes(): number {
    return this.state.usedBytes;
  }

  /** The current incarnation's file system (what `simFileWorker` gives its FileService); dead after the next `crash()`. */
  fileSystem(): FileSystem {
    return this.state.fileSystem();
  }

  /**
   * Kills the current incarnation (kill -9 and the loss of the page cache): everything not
   * fsync'd is lost, except that the last unsynced write of each file may survive torn (a
   * prefix chosen by `options.random`). Operations of the old incarnation (also those waiting in
   * a hold, and every hold ends) reject with EIO from now on. Returns what was lost.
   */
  crash(): SimCrash {
    return this.state.crash();
  }

  /**
   * Makes the next `count` fsyncs and fdatasyncs (default: all from now on) of matching paths
   * fail with EIO: absolute paths that start with `match`, or for which it returns true. What
   * they would have flushed is lost for good (as on Linux after a writeback error).
   */
  failFsync(match: string | ((path: string) => boolean), count = Number.POSITIVE_INFINITY): void {
    this.state.failFsync(match, count);
  }

  /** Holds every operation `match` accepts until `release()`: a slow or stuck disk, on the test's clock. */
  hold(match: (operation: SimDiskOperation) => boolean): SimHold {
    return this.state.hold(match);
  }

  /** Setup before a test: creates directory `path` (absolute) and its parents, durable at once. */
  mkdirDurable(path: string): void {
    this.state.mkdirDurable(path);
  }

  /** Setup before a test: writes file `path` (absolute; parents created), contents and names durable at once. */
  writeDurable(path: string, data: Uint8Array | string): void {
    this.state.writeDurable(path, data);
  }

  /** Setup before a test: a symlink at `path` (absolute) to `target`, durable at once. */
  symlink(target: string, path: string): void {
    this.state.symlink(target, path);
  }
}

class HoldState implements SimHold {
  readonly waiting: SimDiskOperation[] = [];
  private readonly wakers: (() => void)[] = [];
  private released = false;

  constructor(
    readonly match: (operation: SimDiskOperation) => boolean,
    private readonly forget: (hold: HoldState) => void,
  ) {}

  wait(operation: SimDiskOperation): Promise<void> {
    if (this.released) return Promise.resolve();
    this.waiting.push(operation);
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  wakeAll(): void {
    this.released = true;
    this.waiting.length = 0;
    for (const wake of this.wakers.splice(0)) wake();
  }

  release(): void {
    this.forget(this);
    this.wakeAll();
  }
}

/** One incarnation's view of a SimDisk: the FileSystem a FileService uses. */
class SimFileSystem implements FileSystem {
  constructor(
    private readonly disk: DiskState,
    private readonly incarnation: number,
  ) {}

  private enter(kind: SimDiskOperation['kind'], path: string): Promise<void> {
    return this.disk.enter({ kind, path, incarnation: this.incarnation });
  }

  async readFile(path: string): Promise<Uint8Array> {
    await this.enter('read', path);
    const { node } = this.disk.walk(path, true, 'open');
    if (node === undefined) throw fsError('ENOENT', 'open', path);
    if (node.kind !== 'file') throw fsError('EISDIR', 'read');
    return node.data.view().slice();
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    await this.enter('write', path);
    const node = this.createOrOpen(path);
    if (node.data.size > 0 || node.pending.length > 0) this.disk.truncateTo(node, 0);
    const bytes = encode(data);
    if (bytes.length > 0) this.disk.writeAt(node, 0, bytes, 'write');
  }

  async appendFile(path: string, data: Uint8Array | string): Promise<void> {
    await this.enter('write', path);
    const node = this.createOrOpen(path);
    const bytes = encode(data);
    if (bytes.length > 0) this.disk.writeAt(node, node.data.size, bytes, 'write');
  }

  async stat(path: string): Promise<FileInfo> {
    await this.enter('stat', path);
    const { node } = this.disk.walk(path, true, 'stat');
    if (node === undefined) throw fsError('ENOENT', 'stat', path);
    return infoOf(node);
  }

  async lstat(path: string): Promise<FileInfo> {
    await this.enter('stat', path);
    const { node } = this.disk.walk(path, false, 'lstat');
    if (node === undefined) throw fsError('ENOENT', 'lstat', path);
    return infoOf(node);
  }

  async readdir(path: string): Promise<string[]> {
    await this.enter('readdir', path);
    const { node } = this.disk.walk(path, true, 'scandir');
    if (node === undefined) throw fsError('ENOENT', 'scandir', path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()].sort();
  }

  async mkdir(path: string, options: { recursive: true }): Promise<string | undefined> {
    await this.enter('mkdir', path);
    if (options.recursive !== true) throw new RangeError('SimDisk mkdir supports { recursive: true } only');
    const parts = posix.resolve('/', path).split('/').filter((part) => part !== '');
    let first: string | undefined;
    let at = '/';
    for (const part of parts) {
      at = posix.join(at, part);
      const { parent, name, node } = this.disk.walk(at, true, 'mkdir', path);
      if (node === undefined) {
        const dir = this.disk.newDir();
        parent.entries.set(name, dir);
        parent.mtimeMs = this.disk.stamp();
        first ??= at;
      } else if (node.kind !== 'dir') {
        throw fsError(at === posix.resolve('/', path) ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
      }
    }
    return first;
  }

  async rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    await this.enter('rm', path);
    const { parent, name, node } = this.disk.walk(path, false, 'lstat');
    if (node === undefined) {
      if (options.force === true) return;
      throw fsError('ENOENT', 'lstat', path);
    }
    if (node.kind === 'dir' && options.recursive !== true) {
      const error = new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`) as Error & Record<string, unknown>;
      error.name = 'SystemError';
      Object.assign(error, { code: 'ERR_FS_EISDIR', errno: 21, syscall: 'rm', path });
      throw error;
    }
    if (node === this.disk.walk('/', true, 'rm').node) throw fsError('EINVAL', 'rm', path);
    parent.entries.delete(name);
    parent.mtimeMs = this.disk.stamp();
    this.disk.unlinked(node);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.enter('rename', from);
    const source = this.disk.walk(from, false, 'rename', from);
    if (source.node === undefined) throw fsError('ENOENT', 'rename', from, to);
    let target: Walked;
    try {
      target = this.disk.walk(to, false, 'rename', from);
    } catch (error) {
      throw fsError((error as { code: string }).code, 'rename', from, to);
    }
    const moving = source.node;
    const replaced = target.node;
    if (replaced === moving) return;
    if (replaced !== undefined) {
      if (replaced.kind === 'dir' && moving.kind !== 'dir') throw fsError('EISDIR', 'rename', from, to);
      if (replaced.kind !== 'dir' && moving.kind === 'dir') throw fsError('ENOTDIR', 'rename', from, to);
      if (replaced.kind === 'dir' && replaced.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', from, to);
    }
    if (moving.kind === 'dir' && (target.real === source.real || target.real.startsWith(`${source.real}/`))) throw fsError('EINVAL', 'rename', from, to);
    source.parent.entries.delete(source.name);
    if (replaced !== undefined) this.disk.unlinked(replaced);
    target.parent.entries.set(target.name, moving);
    source.parent.mtimeMs = target.parent.mtimeMs = this.disk.stamp();
  }

  async realpath(path: string): Promise<string> {
    await this.enter('resolve', path);
    const { node, real } = this.disk.walk(path, true, 'realpath');
    if (node === undefined) throw fsError('ENOENT', 'realpath', path);
    return real;
  }

  async readlink(path: string): Promise<string> {
    await this.enter('resolve', path);
    const { node } = this.disk.walk(path, false, 'readlink');
    if (node === undefined) throw fsError('ENOENT', 'readlink', path);
    if (node.kind !== 'link') throw fsError('EINVAL', 'readlink', path);
    return node.target;
  }

  async open(path: string, flags: OpenFlags): Promise<OpenFile> {
    await this.enter('open', path);
    const { parent, name, node } = this.disk.walk(path, true, 'open');
    const writable = flags !== 'r';
    const readable = flags !== 'wx';
    if (flags === 'wx' || flags === 'wx+') {
      if (node !== undefined) throw fsError('EEXIST', 'open', path);
      const file = this.disk.newFile();
      parent.entries.set(name, file);
      parent.mtimeMs = this.disk.stamp();
      return new SimOpenFile(this.disk, this.incarnation, path, file, readable, writable);
    }
    if (node === undefined) throw fsError('ENOENT', 'open', path);
    if (node.kind === 'dir' && writable) throw fsError('EISDIR', 'open', path);
    return new SimOpenFile(this.disk, this.incarnation, path, node, readable, writable);
  }

  tempSuffix(): string {
    return this.disk.tempSuffix();
  }

  private createOrOpen(path: string): FileNode {
    const { parent, name, node } = this.disk.walk(path, true, 'open');
    if (node === undefined) {
      if (name === '') throw fsError('EISDIR', 'open', path);
      const file = this.disk.newFile();
      parent.entries.set(name, file);
      parent.mtimeMs = this.disk.stamp();
      return file;
    }
    if (node.kind !== 'file') throw fsError('EISDIR', 'open', path);
    return node;
  }
}

/** An open simulated file (or directory, opened 'r' to fsync it). */
class SimOpenFile implements OpenFile {
  private closed = false;

  constructor(
    private readonly disk: DiskState,
    private readonly incarnation: number,
    private readonly path: string,
    private readonly node: Node,
    private readonly readable: boolean,
    private readonly writable: boolean,
  ) {}

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const node = await this.enter('read', 'read');
    if (node.kind !== 'file') throw fsError('EISDIR', 'read');
    if (!this.readable) throw fsError('EBADF', 'read');
    const bytes = node.data.view();
    const n = Math.max(0, Math.min(length, bytes.length - position));
    buffer.set(bytes.subarray(position, position + n), offset);
    return n;
  }

  async writev(buffers: Uint8Array[], position: number): Promise<number> {
    const node = await this.enter('write', 'write');
    if (node.kind !== 'file') throw fsError('EISDIR', 'write');
    if (!this.writable) throw fsError('EBADF', 'write');
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    const joined = new Uint8Array(total);
    let at = 0;
    for (const buffer of buffers) {
      joined.set(buffer, at);
      at += buffer.length;
    }
    this.disk.writeAt(node, position, joined, 'write');
    return total;
  }

  async datasync(): Promise<void> {
    const node = await this.enter('sync', 'fdatasync');
    this.disk.sync(node, this.path, 'fdatasync');
  }

  async sync(): Promise<void> {
    const node = await this.enter('sync', 'fsync');
    this.disk.sync(node, this.path, 'fsync');
  }

  async truncate(length: number): Promise<void> {
    const node = await this.enter('truncate', 'ftruncate');
    if (node.kind !== 'file' || !this.writable) throw fsError('EINVAL', 'ftruncate');
    this.disk.truncateTo(node, length);
  }

  async size(): Promise<number> {
    const node = await this.enter('stat', 'fstat');
    return infoOf(node).size;
  }

  async close(): Promise<void> {
    await this.enter('close', 'close');
    this.closed = true;
  }

  private async enter(kind: SimDiskOperation['kind'], syscall: string): Promise<Node> {
    if (this.closed) throw fsError('EBADF', syscall);
    await this.disk.enter({ kind, path: this.path, incarnation: this.incarnation });
    return this.node;
  }
}
