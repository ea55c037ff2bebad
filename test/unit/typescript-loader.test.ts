// Which tsx the node's workers register, decided in the main thread from the process it runs in
// (execArgv, NODE_OPTIONS), the preload list and the modules' own locations.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { preloadWithTypeScript, tsxRootOf, type LoaderEnvironment } from '../../src/internal/typescript-loader.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsxRoot = dirname(createRequire(join(repo, 'package.json')).resolve('tsx/package.json'));
const tsxApi = pathToFileURL(join(tsxRoot, 'dist/esm/api/index.mjs')).href;
const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url).href;
const jsModule = new URL('../support/register-tsx.mjs', import.meta.url).href;
/** A directory no tsx can be imported from (nothing above /tmp has node_modules/tsx). */
const bare = mkdtempSync(join(tmpdir(), 'horde-no-tsx-'));
writeFileSync(join(bare, 'kinds.ts'), 'export const behaviours = {};\n');
writeFileSync(join(bare, 'compiled.ts'), 'export const behaviours = {};\n');
const bareTs = pathToFileURL(join(bare, 'kinds.ts')).href;
const bareRenamed = pathToFileURL(join(bare, 'compiled.js')).href;

afterAll(() => rmSync(bare, { recursive: true, force: true }));

const plain: LoaderEnvironment = { execArgv: [], nodeOptions: undefined, cwd: bare, nativeTypeScript: false };

/** The tsx API a registration entry names, or undefined for any other preload entry. */
function apiOf(entry: string | undefined): string | undefined {
  if (entry === undefined) return undefined;
  const url = new URL(entry);
  return url.pathname.endsWith('/internal/register-tsx.js') ? (url.searchParams.get('api') ?? undefined) : undefined;
}

describe('preloadWithTypeScript', () => {
  it('registers the tsx the process runs under (the tsx CLI, --import tsx, NODE_OPTIONS)', () => {
    const cli: LoaderEnvironment = { ...plain, execArgv: ['--require', join(tsxRoot, 'dist/preflight.cjs'), '--import', pathToFileURL(join(tsxRoot, 'dist/loader.mjs')).href] };
    const preload = preloadWithTypeScript(undefined, [], [jsModule], cli);
    expect(preload).toHaveLength(2);
    expect(apiOf(preload[0])).toBe(tsxApi);
    expect(preload[1]).toBe(jsModule);
    expect(apiOf(preloadWithTypeScript('auto', [], [], { ...plain, cwd: repo, execArgv: ['--import=tsx'] })[0])).toBe(tsxApi);
    expect(apiOf(preloadWithTypeScript('auto', [], [], { ...plain, cwd: repo, nodeOptions: '--max-old-space-size=512 --import tsx/esm' })[0])).toBe(tsxApi);
  });

  it("replaces tsx's own entry given as a preload module (it does not register in workers on Node 20)", () => {
    const own = pathToFileURL(join(tsxRoot, 'dist/esm/index.mjs')).href;
    const preload = preloadWithTypeScript(undefined, [], [own, jsModule], plain);
    expect(preload.map(apiOf)).toEqual([tsxApi, undefined]);
    expect(preload[1]).toBe(jsModule);
    expect(tsxRootOf(own)).toBe(tsxRoot);
    expect(tsxRootOf(jsModule)).toBeUndefined();
  });

  it("finds the application's tsx for a TypeScript module when the process runs without one", () => {
    expect(apiOf(preloadWithTypeScript(undefined, [{ option: 'behaviours[0]', url: behaviours }], [], plain)[0])).toBe(tsxApi);
    // JavaScript only: nothing to register.
    expect(preloadWithTypeScript(undefined, [{ option: 'behaviours[0]', url: jsModule }], [jsModule], plain)).toEqual([jsModule]);
    // Node strips types itself: a .ts module needs nothing, a .js URL whose file is the .ts source still needs tsx.
    const native = { ...plain, nativeTypeScript: true };
    expect(preloadWithTypeScript(undefined, [{ option: 'behaviours[0]', url: behaviours }], [], native)).toEqual([]);
    const renamed = behaviours.replace(/\.ts$/, '.js');
    expect(apiOf(preloadWithTypeScript(undefined, [{ option: 'behaviours[0]', url: renamed }], [], native)[0])).toBe(tsxApi);
  });

  it('refuses a TypeScript module with no tsx installed where the application is, naming the fix', () => {
    for (const url of [bareTs, bareRenamed]) {
      let error: unknown;
      try {
        preloadWithTypeScript(undefined, [{ option: 'computeModules[0]', url }], [], plain);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'HORDE_TYPESCRIPT_LOADER' });
      const message = (error as Error).message;
      expect(message).toContain('computeModules[0]');
      expect(message).toContain('npm install --save-dev tsx');
      expect(message).toContain('npx tsx main.ts');
    }
  });

  it("'tsx' registers tsx for JavaScript modules too; 'off' never; anything else is refused", () => {
    expect(apiOf(preloadWithTypeScript('tsx', [{ option: 'behaviours[0]', url: jsModule }], [], { ...plain, cwd: repo })[0])).toBe(tsxApi);
    expect(() => preloadWithTypeScript('tsx', [], [], plain)).toThrow(expect.objectContaining({ code: 'HORDE_TYPESCRIPT_LOADER' }));
    expect(preloadWithTypeScript('off', [{ option: 'behaviours[0]', url: bareTs }], [jsModule], plain)).toEqual([jsModule]);
    expect(() => preloadWithTypeScript('yes', [], [], plain)).toThrow(expect.objectContaining({ code: 'HORDE_INVALID_OPTION' }));
  });
});
