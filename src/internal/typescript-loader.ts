/**
 * TypeScript in the node's worker threads. Node 20 does not carry the loader hooks the main thread
 * registered (`npx tsx main.ts`, `node --import tsx`) into worker threads, so a behaviour, compute
 * or preload module written in TypeScript fails to load there. The node decides here, in the main
 * thread, whether its workers need tsx and which tsx, and puts `register-tsx.js?api=<tsx/esm/api>`
 * first in the preload list that every worker loading user modules (executors, the compute pool)
 * imports before anything else.
 *
 * Which tsx, with `typescript: 'auto'` (the default):
 * 1. the tsx this process runs under: a tsx entry in process.execArgv or NODE_OPTIONS (`--import`,
 *    `--require`, `--loader`), a path inside a tsx package or the bare name `tsx`/`tsx/...`;
 * 2. a preload module that is tsx's own entry (`import.meta.resolve('tsx/esm')`), which does not
 *    register in workers on Node 20: it is replaced by the registration of that tsx;
 * 3. otherwise, only when a module is TypeScript (`.ts`, `.mts`, `.cts`, or a `.js` file URL that
 *    does not exist beside a TypeScript file of that name) and Node cannot strip types itself: the
 *    tsx installed where the application is (resolved from each user module's directory, then the
 *    working directory). None: HORDE_TYPESCRIPT_LOADER, naming the module and the fix.
 * `typescript: 'tsx'` registers tsx even when no module looks like TypeScript (a JavaScript module
 * that imports TypeScript); `'off'` leaves loaders to the preload modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { workerEntry } from './worker-url.js';

/**
 * How a node's worker threads load TypeScript modules (option `typescript`, default `'auto'`).
 * `'auto'`: register the application's tsx in each worker when the application runs under tsx or
 * a module is TypeScript (`startNode` rejects with HORDE_TYPESCRIPT_LOADER when none is
 * installed); `'tsx'`: always register it; `'off'`: never (a preload module registers a loader).
 */
export type TypeScriptMode = 'auto' | 'tsx' | 'off';

const MODES: readonly string[] = ['auto', 'tsx', 'off'];

/** A module the node was given, with the option that named it (for error messages). */
export interface UserModule {
  option: string;
  url: string;
}

/** What detection reads from the process; injected by tests. */
export interface LoaderEnvironment {
  execArgv: readonly string[];
  nodeOptions: string | undefined;
  cwd: string;
  /** Node strips TypeScript types itself in every thread (process.features.typescript). */
  nativeTypeScript: boolean;
}

export function processEnvironment(): LoaderEnvironment {
  const features = process.features as { typescript?: unknown };
  return {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
    cwd: process.cwd(),
    nativeTypeScript: features.typescript !== undefined && features.typescript !== false,
  };
}

const REGISTER_MODULE = workerEntry(import.meta.url, './register-tsx.js');
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);
const TS_EXTENSIONS = ['.ts', '.mts', '.cts'];
const JS_TO_TS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/**
 * The preload list every worker that loads user modules imports first: `preload` with the
 * registration of tsx in front when the workers need it. Throws HORDE_INVALID_OPTION for a bad
 * mode and HORDE_TYPESCRIPT_LOADER when a module needs TypeScript and no tsx can be found.
 */
export function preloadWithTypeScript(mode: unknown, modules: readonly UserModule[], preload: readonly string[], env = processEnvironment()): string[] {
  const chosen = mode ?? 'auto';
  if (typeof chosen !== 'string' || !MODES.includes(chosen)) return invalidOption('typescript', '"auto", "tsx" or "off"', mode);
  if (chosen === 'off') return [...preload];
  let root = tsxOfProcess(env);
  const rest: string[] = [];
  for (const specifier of preload) {
    const own = tsxRootOf(specifier);
    if (own === undefined) rest.push(specifier);
    else root ??= own;
  }
  const appDirs = [...new Set([...[...modules.map((m) => m.url), ...preload].flatMap(fileDirectory), env.cwd])];
  if (root === undefined) {
    if (chosen === 'tsx') {
      root = installedTsx(appDirs);
      if (root === undefined) throw missing(`option "typescript" is "tsx", but tsx is not installed where the application is (looked from ${appDirs.join(', ')})`);
    } else {
      const typescript = firstTypeScriptModule(modules);
      if (typescript === undefined || (env.nativeTypeScript && !typescript.renamed)) return [...preload];
      root = installedTsx(appDirs);
      if (root === undefined) throw missing(`${typescript.why}, and no TypeScript loader is installed where the application is (looked for tsx from ${appDirs.join(', ')})`);
    }
  }
  return [registration(root), ...rest];
}

function missing(what: string): HordeError {
  return new HordeError(
    ErrorCode.TYPESCRIPT_LOADER,
    `${what}: install tsx (npm install --save-dev tsx) and run the application with it (npx tsx main.ts), or build the modules to JavaScript and name the .js files`,
  );
}

/** The registration module's URL for the tsx package at `root`. */
function registration(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown; exports?: Record<string, unknown> };
  const api = importTarget(manifest.exports?.['./esm/api']);
  if (api === undefined) {
    throw new HordeError(ErrorCode.TYPESCRIPT_LOADER, `tsx ${String(manifest.version)} at ${root} has no tsx/esm/api: horde needs tsx 4 or later (npm install --save-dev tsx@4)`);
  }
  const url = new URL(REGISTER_MODULE);
  url.searchParams.set('api', pathToFileURL(join(root, api)).href);
  return url.href;
}

/** The file an exports entry names for `import`: a string, or `{import: string | {default}}`. */
function importTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (typeof entry !== 'object' || entry === null) return undefined;
  const target = (entry as Record<string, unknown>).import ?? (entry as Record<string, unknown>).default;
  return typeof target === 'string' ? target : importTarget(target);
}

/** The tsx package this process runs under (execArgv, then NODE_OPTIONS), if any. */
function tsxOfProcess(env: LoaderEnvironment): string | undefined {
  const args = [...env.execArgv, ...(env.nodeOptions ?? '').split(/\s+/).filter((arg) => arg.length > 0)];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const equals = arg.indexOf('=');
    const flag = equals > 0 ? arg.slice(0, equals) : arg;
    if (!LOADER_FLAGS.has(flag)) continue;
    const value = equals > 0 ? arg.slice(equals + 1) : args[++i];
    if (value === undefined) continue;
    const root = value === 'tsx' || value.startsWith('tsx/') ? installedTsx([env.cwd]) : tsxRootOf(value);
    if (root !== undefined) return root;
  }
  return undefined;
}

/** The root of the tsx package a module (file URL or absolute path) belongs to, if it is tsx's. */
export function tsxRootOf(specifier: string): string | undefined {
  let path: string;
  try {
    path = specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier;
  } catch {
    return undefined;
  }
  if (!isAbsolute(path)) return undefined;
  // The nearest package.json above the file is the package it belongs to.
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return packageName(manifest) === 'tsx' ? dir : undefined;
    if (dirname(dir) === dir) return undefined;
  }
}

function packageName(manifest: string): unknown {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    // A package.json that does not parse belongs to no package we know of.
    return undefined;
  }
}

/** tsx as the application would import it from the first of `dirs` that has it installed. */
function installedTsx(dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    try {
      return dirname(createRequire(join(dir, 'horde-resolve.js')).resolve('tsx/package.json'));
    } catch {
      // Not installed where this directory can import it: try the next one.
    }
  }
  return undefined;
}

function fileDirectory(url: string): string[] {
  if (!url.startsWith('file:')) return [];
  try {
    return [dirname(fileURLToPath(url))];
  } catch {
    return [];
  }
}

/** The first module that needs a TypeScript loader, with why (for the error message). */
function firstTypeScriptModule(modules: readonly UserModule[]): { why: string; renamed: boolean } | undefined {
  for (const { option, url } of modules) {
    let pathname: string;
    try {
      pathname = new URL(url).pathname;
    } catch {
      continue;
    }
    const extension = /\.[^./]*$/.exec(pathname)?.[0] ?? '';
    if (TS_EXTENSIONS.includes(extension)) return { why: `${option} (${url}) is TypeScript`, renamed: false };
    const typescript = JS_TO_TS[extension];
    if (typescript === undefined || !url.startsWith('file:')) continue;
    const file = fileURLToPath(url);
    const source = file.slice(0, -extension.length) + typescript;
    if (!existsSync(file) && existsSync(source)) return { why: `${option} (${url}) does not exist, but its TypeScript source ${source} does`, renamed: true };
  }
  return undefined;
}
