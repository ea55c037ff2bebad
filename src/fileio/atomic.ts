/**
 * Atomic file replacement: after a crash at any point, the target holds either its old contents
 * or the new ones, never a mix and never an empty file.
 *
 * `atomicReplace(dataDir, relPath, bytes, fs?)` (fs: the file system seam, file-system.ts; default
 * node:fs/promises):
 * 1. resolves `relPath` inside the data directory (paths.ts: same refusals);
 * 2. writes `bytes` to a new temporary file in the target's directory (same file system, so the
 *    rename below is atomic), named `.<name>.<fs.tempSuffix()>.tmp` (real: pid and random bytes), created with O_EXCL;
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

import { basename, dirname, join } from 'node:path';
import { ErrorCode, HordeError } from '../errors.js';
import { nodeFileSystem, type FileSystem, type OpenFile } from './file-system.js';
import { resolveInDataDir } from './paths.js';

export async function atomicReplace(dataDir: string, relPath: string, bytes: Uint8Array, fs: FileSystem = nodeFileSystem): Promise<string> {
  if (!(bytes instanceof Uint8Array)) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `atomicReplace ${JSON.stringify(relPath)}: bytes must be a Uint8Array; got ${typeof bytes}`);
  }
  const target = await resolveInDataDir(dataDir, relPath, { fs });
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${fs.tempSuffix()}.tmp`);
  let step = 'create the temporary file';
  let handle: OpenFile | undefined;
  try {
    handle = await fs.open(temp, 'wx');
    step = 'write the temporary file';
    let written = 0;
    while (written < bytes.length) {
      const bytesWritten = await handle.writev([written === 0 ? bytes : bytes.subarray(written)], written);
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
    await fs.rename(temp, target);
  } catch (error) {
    // Clean up what this call created; the error that matters is the one that stopped it.
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw ioError(relPath, step, error);
  }
  try {
    await syncDirectory(dir, fs);
  } catch (error) {
    throw ioError(relPath, 'fsync the directory after the rename (the new contents are in place but may not survive a crash)', error);
  }
  return target;
}

/** fsyncs a directory so that changes to its entries (a create, a rename) survive a crash. */
export async function syncDirectory(path: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  const handle = await fs.open(path, 'r');
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
