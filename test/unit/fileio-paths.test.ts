// Confinement of user paths to the data directory, on a real directory tree with real symlinks,
// and atomic replacement of files in it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { atomicReplace } from '../../src/fileio/atomic.js';
import { resolveInDataDir } from '../../src/fileio/paths.js';
import { rejectsWithCode } from '../support/errors.js';

let base: string;
let data: string;
let outside: string;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'horde-paths-')));
  data = join(base, 'data');
  outside = join(base, 'outside');
  await mkdir(join(data, 'sub', 'deeper'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(data, 'sub', 'file.txt'), 'inside');
  await writeFile(join(outside, 'secret.txt'), 'secret');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const OUT = ErrorCode.PATH_OUTSIDE_DATA_DIR;
const BAD = ErrorCode.INVALID_PATH;

describe('resolveInDataDir refuses', () => {
  it('absolute paths and .. escapes, naming the path', async () => {
    for (const path of ['/etc/passwd', '/', '../x', '..', 'a/../../x', 'a/./../../x', 'sub/../../outside/secret.txt', './../x', 'sub/deeper/../../../x']) {
      const error = await rejectsWithCode(resolveInDataDir(data, path), OUT);
      expect(error.message).toContain(JSON.stringify(path));
    }
  });

  it('malformed paths: empty, NUL, backslashes, lone surrogates, overlong, non-strings', async () => {
    for (const path of ['', 'a\0b', '\0', 'sub/file.txt\0.png', '..\\x', 'a\\..\\..\\x', 'C:\\Windows', 'a\uD800b', 'x'.repeat(5000)]) {
      await rejectsWithCode(resolveInDataDir(data, path), BAD);
    }
    await rejectsWithCode(resolveInDataDir(data, 42 as unknown as string), BAD);
  });

  it('the data directory itself unless allowed', async () => {
    for (const path of ['.', './', 'sub/..', 'sub/deeper/../..']) await rejectsWithCode(resolveInDataDir(data, path), BAD);
    expect(await resolveInDataDir(data, '.', { allowRoot: true })).toBe(data);
  });

  it('a symlink to /tmp inside the data directory, as the last component or a directory', async () => {
    await symlink(tmpdir(), join(data, 'tmp'));
    for (const path of ['tmp', 'tmp/x', 'tmp/new/dir/file', 'sub/../tmp/y']) await rejectsWithCode(resolveInDataDir(data, path), OUT);
  });

  it('a symlinked parent directory pointing outside, relative or absolute', async () => {
    await symlink('../../outside', join(data, 'sub', 'rel'));
    await symlink(outside, join(data, 'abs'));
    for (const path of ['sub/rel/secret.txt', 'sub/rel/new.txt', 'abs/secret.txt', 'abs/new/deep.txt', 'sub/rel']) {
      await rejectsWithCode(resolveInDataDir(data, path), OUT);
    }
  });

  it('a symlink to a file outside, and a dangling symlink whose target would be created outside', async () => {
    await symlink(join(outside, 'secret.txt'), join(data, 'secret'));
    await symlink(join(outside, 'not-yet'), join(data, 'dangling'));
    await symlink('../outside/nope/deeper', join(data, 'dangling-rel'));
    for (const path of ['secret', 'dangling', 'dangling-rel']) await rejectsWithCode(resolveInDataDir(data, path), OUT);
  });

  it('a chain of symlinks that ends outside, and a symlink loop', async () => {
    await symlink('b', join(data, 'a'));
    await symlink('sub/c', join(data, 'b'));
    await symlink('../../outside', join(data, 'sub', 'c'));
    await rejectsWithCode(resolveInDataDir(data, 'a/secret.txt'), OUT);
    await symlink('loop2', join(data, 'loop1'));
    await symlink('loop1', join(data, 'loop2'));
    await rejectsWithCode(resolveInDataDir(data, 'loop1/x'), BAD);
  });

  it('a symlink whose target climbs out with .. through a link (kernel semantics, not lexical)', async () => {
    // sub/up -> deeper; "sub/up/../.." is data/sub/deeper/../.. = data: allowed only as root.
    await symlink(join(data, 'sub', 'deeper'), join(data, 'sub', 'up'));
    expect(await resolveInDataDir(data, 'sub/up/../file.txt')).toBe(join(data, 'sub', 'file.txt'));
    // A link into the data directory's parent, then down: outside.
    await symlink('..', join(data, 'parent'));
    await rejectsWithCode(resolveInDataDir(data, 'parent/outside/secret.txt'), OUT);
    await rejectsWithCode(resolveInDataDir(data, 'parent'), OUT);
  });

  it('a file used as a directory, and .. after a missing component', async () => {
    await rejectsWithCode(resolveInDataDir(data, 'sub/file.txt/x'), BAD);
    await rejectsWithCode(resolveInDataDir(data, 'missing/../sub/file.txt'), BAD);
  });

  it('a data directory that does not exist or is not a directory', async () => {
    await rejectsWithCode(resolveInDataDir(join(base, 'nope'), 'x'), BAD);
    await rejectsWithCode(resolveInDataDir(join(data, 'sub', 'file.txt'), 'x'), BAD);
  });
});

describe('resolveInDataDir allows', () => {
  it('existing files and nested new paths, returning absolute paths inside', async () => {
    expect(await resolveInDataDir(data, 'sub/file.txt')).toBe(join(data, 'sub', 'file.txt'));
    expect(await resolveInDataDir(data, 'new.txt')).toBe(join(data, 'new.txt'));
    expect(await resolveInDataDir(data, 'a/b/c/new.txt')).toBe(join(data, 'a', 'b', 'c', 'new.txt'));
    expect(await resolveInDataDir(data, './sub//deeper/./x/')).toBe(join(data, 'sub', 'deeper', 'x'));
    expect(await resolveInDataDir(data, 'sub/deeper/../file.txt')).toBe(join(data, 'sub', 'file.txt'));
  });

  it('names that only look like escapes: percent-encoding, fullwidth and one-dot-leader dots, dotted names', async () => {
    for (const path of ['%2e%2e/x', '..%2fx', '%2e%2e%2f%2e%2e%2fetc', '．．/x', '\u2024\u2024/x', '...', '..x', 'x..', '.hidden', 'e\u0301']) {
      const resolved = await resolveInDataDir(data, path);
      expect(resolved.startsWith(`${data}/`)).toBe(true);
      expect(resolved).toBe(join(data, path));
    }
  });

  it('symlinks that stay inside (relative, absolute, chained, to files), resolved to their targets', async () => {
    await symlink('sub/deeper', join(data, 'short'));
    await symlink(join(data, 'sub'), join(data, 'abs-inside'));
    await symlink('short', join(data, 'chain'));
    await symlink('sub/file.txt', join(data, 'file-link'));
    await symlink('sub/missing.txt', join(data, 'dangling-inside'));
    expect(await resolveInDataDir(data, 'short/x')).toBe(join(data, 'sub', 'deeper', 'x'));
    expect(await resolveInDataDir(data, 'abs-inside/file.txt')).toBe(join(data, 'sub', 'file.txt'));
    expect(await resolveInDataDir(data, 'chain/new/y')).toBe(join(data, 'sub', 'deeper', 'new', 'y'));
    expect(await resolveInDataDir(data, 'file-link')).toBe(join(data, 'sub', 'file.txt'));
    expect(await resolveInDataDir(data, 'dangling-inside')).toBe(join(data, 'sub', 'missing.txt'));
  });

  it('a link that leaves and comes back in: what counts is where it leads', async () => {
    await symlink('../data/sub', join(data, 'roundtrip'));
    expect(await resolveInDataDir(data, 'roundtrip/file.txt')).toBe(join(data, 'sub', 'file.txt'));
  });

  it('a data directory given through a symlink', async () => {
    await symlink(data, join(base, 'data-link'));
    expect(await resolveInDataDir(join(base, 'data-link'), 'sub/file.txt')).toBe(join(data, 'sub', 'file.txt'));
    await symlink(join(base, 'data-link', 'sub'), join(data, 'via-link'));
    expect(await resolveInDataDir(join(base, 'data-link'), 'via-link/file.txt')).toBe(join(data, 'sub', 'file.txt'));
  });
});

describe('atomicReplace', () => {
  it('creates and replaces a file, leaving no temporary files behind', async () => {
    const path = await atomicReplace(data, 'sub/state.json', new TextEncoder().encode('{"v":1}'));
    expect(path).toBe(join(data, 'sub', 'state.json'));
    expect(await readFile(path, 'utf8')).toBe('{"v":1}');
    await atomicReplace(data, 'sub/state.json', new TextEncoder().encode('{"v":2}'));
    expect(await readFile(path, 'utf8')).toBe('{"v":2}');
    await atomicReplace(data, 'sub/state.json', new Uint8Array(0));
    expect(await readFile(path, 'utf8')).toBe('');
    expect((await readdir(join(data, 'sub'))).sort()).toEqual(['deeper', 'file.txt', 'state.json']);
  });

  it('writes large contents whole', async () => {
    const bytes = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 13) & 0xff);
    const path = await atomicReplace(data, 'big.bin', bytes);
    const back = await readFile(path);
    expect(back.length).toBe(bytes.length);
    expect(back.equals(bytes)).toBe(true);
  });

  it('refuses paths outside the data directory before writing anything', async () => {
    await symlink(outside, join(data, 'out'));
    await rejectsWithCode(atomicReplace(data, '../outside/secret.txt', new Uint8Array([1])), OUT);
    await rejectsWithCode(atomicReplace(data, 'out/secret.txt', new Uint8Array([1])), OUT);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('fails with HORDE_IO_ERROR (cause: the fs error) when the parent is missing or the target is a directory, leaving nothing behind', async () => {
    const missing = await rejectsWithCode(atomicReplace(data, 'no/such/dir/x', new Uint8Array([1])), ErrorCode.IO_ERROR);
    expect((missing.cause as { code?: string }).code).toBe('ENOENT');
    const isDir = await rejectsWithCode(atomicReplace(data, 'sub/deeper', new Uint8Array([1])), ErrorCode.IO_ERROR);
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain((isDir.cause as { code?: string }).code);
    expect((await readdir(join(data, 'sub'))).sort()).toEqual(['deeper', 'file.txt']);
  });
});
