// The package as users get it. Packed once from a clean copy of the repository (the files git
// tracks, plus new ones not ignored; no dist/: the prepack script builds it), installed with npm
// into a new application next to tsx, and used only through the package's exports and its bin:
// the README's quick start under tsx and compiled, every user-facing feature
// (test/package-app/, type-checked against the package's types and run under tsx), a cluster
// with a module-less seed from the bin, and source maps that name files the package ships.
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(root, 'node_modules/typescript/bin/tsc');
const versionOf = (name: string): string => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let work = '';
let app = '';
let packedFiles: string[] = [];
let distBeforePack = true;

/** The environment without npm's own `npm_*` variables (npm reads npm_config_* as its configuration). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
}

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${String(result.status)}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** A TypeScript file of the application run under the application's tsx; its stdout. */
function tsx(file: string, args: string[] = [], cwd = app): string {
  return run(join(app, 'node_modules/.bin/tsx'), [file, ...args], cwd).stdout;
}

/** The last line of `output` as JSON (the app's scripts print one report line). */
function report<T = Record<string, unknown>>(output: string): T {
  return JSON.parse(output.trim().split('\n').at(-1)!) as T;
}

/** What a clean clone of this repository would hold: tracked files and new files git does not ignore. */
function copyRepository(target: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  for (const file of listed.split('\0')) {
    // node_modules is a symlink in some worktrees (so git lists it); deleted files are still listed until committed.
    if (file === '' || file === 'node_modules' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(root, file), join(target, file), { verbatimSymlinks: true });
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'horde-package-'));
  const source = join(work, 'source');
  copyRepository(source);
  distBeforePack = existsSync(join(source, 'dist'));
  // The build needs the dev dependencies (typescript) that `npm ci` installed in this checkout.
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'), 'dir');
  run('npm', ['pack', '--pack-destination', work], source);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  packedFiles = run('tar', ['-tzf', join(work, tarball)], work).stdout.split('\n').filter((line) => line.length > 0);

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'horde-package-app', private: true, type: 'module' }, null, 2));
  cpSync(join(root, 'test/package-app'), app, { recursive: true });
  cpSync(join(root, 'examples/quick-start'), join(app, 'quick-start'), { recursive: true });
  // --prefer-offline: CI's `npm ci` has just filled the cache with these exact versions.
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball), `tsx@${versionOf('tsx')}`, `@types/node@${versionOf('@types/node')}`], app);
}, 480_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('is packed from a clean copy: prepack builds dist/, and the package ships the code, its assets and its sources', () => {
    expect(distBeforePack).toBe(false);
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/executor/worker.js', 'dist/fileio/worker.js', 'dist/poller/worker.js', 'dist/store/worker.js', 'dist/fileio/compute-task.js', 'dist/internal/register-tsx.js', 'dist/cluster/wire.proto', 'src/index.ts', 'README.md', 'package.json']) {
      expect(packedFiles).toContain(`package/${file}`);
    }
    expect(packedFiles.filter((file) => /^package\/(test|bench|examples|scripts)\//.test(file))).toEqual([]);
  });

  it("runs the README's quick start as it is printed: under tsx with no build step, and compiled", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    for (const file of ['counter.ts', 'main.ts']) {
      expect(blocks.find((block) => block.startsWith(`// ${file}:`))).toBe(readFileSync(join(root, 'examples/quick-start', file), 'utf8'));
    }
    const quickStart = join(app, 'quick-start');
    expect(tsx('main.ts', [], quickStart).trim()).toBe('2');
    run(process.execPath, [TSC, '--module', 'nodenext', '--target', 'es2022', '--strict', '--outDir', 'dist', 'counter.ts', 'main.ts'], quickStart);
    expect(run(process.execPath, ['dist/main.js'], quickStart).stdout.trim()).toBe('2');
  });

  it("exports what an application needs: its code type-checks against the package's types", () => {
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], app);
    const names = report<string[]>(run(process.execPath, ['--input-type=module', '-e', "import * as horde from 'horde'; console.log(JSON.stringify(Object.keys(horde)))"], app).stdout);
    for (const name of ['startNode', 'HordeNode', 'IoResult', 'Exit', 'Down', 'Signal', 'SUPERVISOR_KIND', 'TestKit', 'registerMessageType', 'typed', 'connect', 'startGateway', 'runLoadTest', 'HordeError', 'ErrorCode']) {
      expect(names).toContain(name);
    }
  });

  it('runs a node: processes, names, links and monitors, supervisors, timers, files, durable log, compute, typed messages (.ts behaviour, compute and preload modules)', () => {
    const result = report(tsx('local.ts'));
    expect(result).toMatchObject({
      ask: 3,
      preloaded: true,
      isPid: true,
      whereis: true,
      mainDown: 'stop-now',
      seen: { exits: [{ reason: 'boom' }], downs: [{ reason: 'stop-now' }] },
      nameFreed: true,
      supervisor: { restarts: 1, newPid: true, restartedState: 10 },
      timers: { ticks: 3 },
      files: {
        read: 'hello, world',
        stat: { size: 12, isFile: true, isDirectory: false },
        list: ['notes.txt'],
        missing: 'ENOENT',
        appended: [{ offset: 0, length: 5 }, { offset: 17, length: 6 }],
        log: { offsets: [0, 17], texts: ['first', 'second'], nextOffset: 35 },
        square: 144,
        refused: 'E_REFUSED',
        computePreloaded: true,
      },
      typed: { x: 3, y: -4, type: 'app.Point' },
      unknownKind: 'HORDE_UNKNOWN_KIND',
      status: { executors: 2 },
    });
  });

  it('runs the TestKit (simulated time and files, same seed same run) and, from horde/testkit, a simulated cluster and the linearizability checker', () => {
    expect(report(tsx('testkit.ts'))).toEqual({
      count: 5,
      down: { payload: 'bye' },
      pendingAfterStart: 1,
      timers: [{ ticks: 3 }],
      now: 30,
      files: { missing: 'ENOENT', square: 42 },
      envelopes: expect.any(Number) as unknown,
      sameRunSameSeed: true,
      sim: { count: 6, linearizable: true, sameRunSameSeed: true },
    });
  });

  it('runs a cluster: a seed from the bin with no module and a gateway, serving a service of one of two application nodes', async () => {
    const bin = join(app, 'node_modules/.bin/horde');
    const seed = spawn(bin, ['node', '--name', 'seed', '--listen', '127.0.0.1:0', '--insecure', '--gateway', '127.0.0.1:0', '--executors', '1'], { cwd: app, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    createInterface({ input: seed.stderr }).on('line', (line) => stderr.push(line));
    const exited = new Promise<number | null>((done) => seed.once('exit', (code) => done(code)));
    try {
      const ready = await new Promise<{ port: number; gateway: { host: string; port: number } }>((ok, fail) => {
        void exited.then((code) => fail(new Error(`the seed exited with ${String(code)}: ${stderr.join('\n')}`)));
        createInterface({ input: seed.stdout }).on('line', (line) => {
          const event = JSON.parse(line) as { event: string; port: number; gateway: { host: string; port: number } };
          if (event.event === 'ready') ok(event);
        });
      });
      const output = await new Promise<string>((ok, fail) => {
        const child = spawn(join(app, 'node_modules/.bin/tsx'), ['cluster.ts', `127.0.0.1:${ready.port}`, `${ready.gateway.host}:${ready.gateway.port}`], { cwd: app, env: cleanEnv() });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.once('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`cluster.ts exited with ${String(code)}:\n${out}\n${err}`))));
      });
      expect(report(output)).toEqual({
        remoteAsk: 105,
        remoteNode: true,
        members: ['app-a', 'seed'],
        viaSeedGateway: { hello: 'seed' },
        unknownService: 'HORDE_UNKNOWN_SERVICE',
        viaOwnGateway: [1, 'two'],
        gatewayCompleted: 1,
      });
      const status = JSON.parse(run(bin, ['status', `127.0.0.1:${ready.port}`, '--insecure'], app).stdout) as { name: string; members: { name: string }[] };
      expect(status.name).toBe('seed');
      expect(status.members.map((m) => m.name).sort()).toEqual(['app-a', 'app-b']);
    } finally {
      seed.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('runs the horde bin: version, and unknown commands refused with exit code 2', () => {
    const bin = join(app, 'node_modules/.bin/horde');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run(bin, ['version'], app).stdout.trim()).toBe(manifest.version);
    const unknown = spawnSync(bin, ['frobnicate'], { cwd: app, env: cleanEnv(), encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('names files the package ships in its source maps and in stack traces', () => {
    const installed = join(app, 'node_modules/horde');
    const maps = packedFiles.filter((file) => file.endsWith('.map')).map((file) => join(installed, file.slice('package/'.length)));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        const file = resolve(dirname(map), sourceRoot ?? '', source);
        if (!existsSync(file)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
    const script = "import { startNode } from 'horde'; try { await startNode({ executors: 0 }); } catch (error) { console.log(JSON.stringify(error.stack)); }";
    const stack = JSON.parse(run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], app).stdout) as string;
    const frames = [...stack.matchAll(/(\/[^\s():]+\/node_modules\/horde\/[^\s():]+):\d+:\d+/g)].map((match) => match[1]!);
    expect(frames.filter((frame) => frame.endsWith('.ts')).length).toBeGreaterThan(0);
    expect(frames.filter((frame) => !existsSync(frame))).toEqual([]);
  });
});
