/**
 * Confining paths to the data directory. Every path a process names for a file operation is
 * relative to the node's data directory and must stay inside it, symlinks included.
 *
 * `resolveInDataDir(dataDir, userPath)` returns the absolute path to use, or rejects with a
 * HordeError that names the path:
 * - HORDE_INVALID_PATH: not a string, empty, NUL bytes, backslashes
 *   (refused so a path means the same on every platform), ill-formed Unicode (lone surrogates,
 *   which would be written as U+FFFD), longer than 4,096 characters, a regular file used as a
 *   directory, a symlink loop (more than 40 links followed), `..` after a component that does not
 *   exist (the kernel could not resolve it either), a data directory that cannot be resolved, or
 *   the data directory itself (`.`, `a/..`, a symlink to it) unless `{ allowRoot: true }` (for
 *   listing it; never for removing it).
 * - HORDE_PATH_OUTSIDE_DATA_DIR: an absolute path, a `..` that climbs above the data directory,
 *   or a symlink (at any depth, the last component included, dangling or not, through any chain
 *   of links) that leads outside it.
 * - HORDE_IO_ERROR: the file system refused to answer (EACCES on a component, for instance).
 *
 * How (through the file system seam, `options.fs`, file-system.ts: node:fs/promises by default):
 * the data directory is resolved with realpath, then the path is walked one component at a
 * time from there, the way the kernel does: `lstat` each component; a symlink is replaced by its
 * target's components (walked from `/` for an absolute target, from the current directory
 * otherwise); `..` goes to the parent of the current real directory (so `link/..` means the
 * parent of the link's target, as for the kernel, not lexically). The first component that does
 * not exist ends the walk and the rest is appended as it is (names only). Where the walk ends
 * must be inside the data directory: a link may leave it and come back (`a -> ../data/b`), since
 * what counts is where the path leads. The result has no symlink in its existing part, so opening
 * it follows none there. A `..` that climbs above the data directory lexically (`a/../../x`) is
 * refused before any file system call.
 *
 * Escapes like `%2e%2e`, fullwidth dots (`．．`) or U+2024 are ordinary names on POSIX file
 * systems (nothing decodes or normalizes them), so they stay inside as literal file names.
 *
 * Limits (time of check to time of use): the answer is true when it is given. Someone who can
 * rename directories or create symlinks inside the data directory between the check and the
 * operation can still redirect it outside. Node exposes neither openat2(RESOLVE_BENEATH) nor
 * O_PATH directory handles, so the check cannot be tied to the open. What keeps this safe is that
 * horde offers processes no way to create symlinks or rename directories, so only the node's own
 * operator (or another program writing into the data directory) can race it; callers that create
 * files can add O_NOFOLLOW for the last component. Hard links are not symlinks and are not seen:
 * a hard link in the data directory to a file outside is that file.
 */

import { dirname, isAbsolute, join, posix, sep } from 'node:path';
import { ErrorCode, HordeError } from '../errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';

const MAX_PATH_CHARS = 4096;
/** Links followed in one resolution before giving up (Linux's MAXSYMLINKS is 40). */
const MAX_SYMLINKS = 40;

export interface ResolveOptions {
  /** Accept a path that names the data directory itself (`.`, or a symlink to it). Default false. */
  allowRoot?: boolean;
  /** The file system to walk (file-system.ts). Default node:fs/promises. */
  fs?: FileSystem;
}

/** The absolute path `userPath` names inside `dataDir`; rejects paths that leave it (see above). */
export async function resolveInDataDir(dataDir: string, userPath: string, options: ResolveOptions = {}): Promise<string> {
  checkShape(userPath);
  const fs = options.fs ?? nodeFileSystem;
  const root = await resolveRoot(dataDir, fs);
  const inside = (path: string): boolean => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
  const finish = (path: string): string => {
    if (!inside(path)) {
      throw new HordeError(ErrorCode.PATH_OUTSIDE_DATA_DIR, `path ${JSON.stringify(userPath)} leads outside the data directory (to ${JSON.stringify(path)})`);
    }
    if (path === root && options.allowRoot !== true) {
      throw new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)} names the data directory itself`);
    }
    return path;
  };

  let current = root;
  // Components still to walk, in order; a symlink's target is put in front of the rest.
  const queue = userPath.split('/');
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, name);
    let info;
    try {
      info = await fs.lstat(next);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') {
        const rest = queue.filter((part) => part !== '' && part !== '.');
        if (rest.includes('..')) {
          if (!inside(current)) finish(next);
          throw new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)}: ".." after ${JSON.stringify(name)}, which does not exist`);
        }
        return finish(join(next, ...rest));
      }
      // Errors met outside the data directory say nothing more than "outside".
      if (!inside(current)) finish(next);
      if (code === 'ENOTDIR') {
        throw new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)}: a component before ${JSON.stringify(name)} is not a directory`, { cause: error });
      }
      throw ioError(userPath, `lstat of ${JSON.stringify(next)}`, error);
    }
    if (info.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) {
        throw new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)}: more than ${MAX_SYMLINKS} symlinks followed (a loop?)`);
      }
      let target: string;
      try {
        target = await fs.readlink(next);
      } catch (error) {
        throw ioError(userPath, `readlink of ${JSON.stringify(next)}`, error);
      }
      queue.unshift(...target.split('/'));
      if (isAbsolute(target)) current = sep;
      continue;
    }
    if (!info.isDirectory() && queue.some((part) => part !== '' && part !== '.')) {
      if (!inside(current)) finish(next);
      throw new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)}: ${JSON.stringify(name)} is not a directory`);
    }
    current = next;
  }
  return finish(current);
}

/** The path's components, or a rejection for a malformed or absolute path. */
function checkShape(userPath: unknown): void {
  const invalid = (why: string): HordeError => new HordeError(ErrorCode.INVALID_PATH, `path ${JSON.stringify(userPath)} is invalid: ${why}`);
  if (typeof userPath !== 'string') throw invalid(`a path must be a string, got ${typeof userPath}`);
  if (userPath.length === 0) throw invalid('it is empty');
  if (userPath.length > MAX_PATH_CHARS) throw invalid(`longer than ${MAX_PATH_CHARS} characters`);
  if (userPath.includes('\0')) throw invalid('it contains a NUL byte');
  if (userPath.includes('\\')) throw invalid('it contains a backslash');
  if (!userPath.isWellFormed()) throw invalid('it is not well-formed Unicode (lone surrogate)');
  if (isAbsolute(userPath)) {
    throw new HordeError(ErrorCode.PATH_OUTSIDE_DATA_DIR, `path ${JSON.stringify(userPath)} is absolute; paths are relative to the data directory`);
  }
  const normalized = posix.normalize(userPath);
  if (normalized === '..' || normalized.startsWith('../')) {
    throw new HordeError(ErrorCode.PATH_OUTSIDE_DATA_DIR, `path ${JSON.stringify(userPath)} climbs above the data directory with ".."`);
  }
}

async function resolveRoot(dataDir: string, fs: FileSystem): Promise<string> {
  if (typeof dataDir !== 'string' || dataDir.length === 0 || dataDir.includes('\0')) {
    throw new HordeError(ErrorCode.INVALID_PATH, `data directory ${JSON.stringify(dataDir)} is not a valid path`);
  }
  let root: string;
  try {
    root = await fs.realpath(dataDir);
    if (!(await fs.stat(root)).isDirectory()) throw Object.assign(new Error(`${root} is not a directory`), { code: 'ENOTDIR' });
  } catch (error) {
    throw new HordeError(ErrorCode.INVALID_PATH, `data directory ${JSON.stringify(dataDir)} cannot be used: ${messageOf(error)}`, { cause: error });
  }
  return root;
}

function ioError(userPath: string, step: string, error: unknown): HordeError {
  const code = errorCode(error);
  return new HordeError(ErrorCode.IO_ERROR, `path ${JSON.stringify(userPath)}: ${step} failed${code === undefined ? '' : ` (${code})`}: ${messageOf(error)}`, { cause: error });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
