/**
 * Atomic file replacement: after a crash at any point, the target holds either its old contents
 * or the new ones, never a mix and never an empty file.
 *
 * `atomicReplace(dataDir, relPath, bytes)`:
 * 1. resolves `relPath` inside the data directory (paths.ts: same refusals);
 * 2. writes `bytes` to a new temporary file in the target's directory (same file system, so the
 *    rename below is atomic), named `.<name>.<pid>.<random>.tmp`, created with O_EXCL;
 * 3. fsyncs it (the data must be on disk before the name points to it);
 * 4. renames it over the target (atomic replacement of the directory entry);
 * 5. fsyncs the directory (makes the rename itself durable).
 * It resolves after step 5 with the absolute path written. A failure before the rename removes
 * the temporary file and rejects with HORDE_IO_ERROR (cause: the fs error with its code); the
 * target is untouched. A failure of the directory fsync after the rename rejects too: the new
 * contents are in place but may not survive a crash. A crash between steps 2 and 4 leaves a
 * `.tmp` file behind (names start with a dot so listings can skip them); nothing removes it.
 *
 * The target's parent directory must exist. If the target is a symlink inside the data directory,
 * the file it points to is replaced (the link stays), because paths.ts resolves the link.
 * The new file gets mode 0o644 (minus the umask), not the old file's mode.
 *
 * All async fs calls: nothing here blocks the fileio worker's event loop.
 */

import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, HordeError } from '../errors.js';
import { resolveInDataDir } from './paths.js';

export async function atomicReplace(dataDir: string, relPath: string, bytes: Uint8Array): Promise<string> {
  if (!(bytes instanceof Uint8Array)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `atomicReplace ${JSON.stringify(relPath)}: bytes must be a Uint8Array; got ${typeof bytes}`);
  }
  const target = await resolveInDataDir(dataDir, relPath);
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let step = 'create the temporary file';
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
    step = 'write the temporary file';
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, written);
      if (bytesWritten <= 0) throw Object.assign(new Error(`short write: ${written} of ${bytes.length} bytes`), { code: 'EIO' });
      written += bytesWritten;
    }
    step = 'fsync the temporary file';
    await handle.sync();
    step = 'close the temporary file';
    const closing = handle;
    handle = undefined;
    await closing.close();
    step = 'rename over the target';
    await rename(temp, target);
  } catch (error) {
    // Clean up what this call created; the error that matters is the one that stopped it.
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw ioError(relPath, step, error);
  }
  try {
    await syncDirectory(dir);
  } catch (error) {
    throw ioError(relPath, 'fsync the directory after the rename (the new contents are in place but may not survive a crash)', error);
  }
  return target;
}

/** fsyncs a directory so that changes to its entries (a create, a rename) survive a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ioError(relPath: string, step: string, error: unknown): HordeError {
  const code = (error as { code?: unknown } | null)?.code;
  return new HordeError(
    ErrorCode.IO_ERROR,
    `atomicReplace ${JSON.stringify(relPath)}: could not ${step}${typeof code === 'string' ? ` (${code})` : ''}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}
