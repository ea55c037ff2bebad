// The API reference check (`npm run docs:check`, part of `npm test`): TypeDoc with the project's own
// typedoc.json settings warns about a public export without a doc comment, so the check fails.
// Run on a tiny temporary entry point; the real src/index.ts is checked by docs:check itself.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Application, Logger, LogLevel, TSConfigReader, type TypeDocOptions } from 'typedoc';

const root = join(import.meta.dirname, '..', '..');

/** A logger that keeps every warning and error instead of printing it. */
class CollectingLogger extends Logger {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  override log(message: string, level: LogLevel): void {
    if (level === LogLevel.Warn) this.warnings.push(message);
    if (level === LogLevel.Error) this.errors.push(message);
  }
}

let dir: string;
let settings: TypeDocOptions;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-api-docs-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'api-docs-fixture', version: '0.0.0', type: 'module' }));
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, types: [], noEmit: true }, files: ['index.ts'] }),
  );
  // typedoc.json's checks (validation, requiredToBeDocumented, excludeInternal, ...) on the fixture instead of src/.
  const config = JSON.parse(await readFile(join(root, 'typedoc.json'), 'utf8')) as Record<string, unknown>;
  for (const key of ['$schema', 'entryPoints', 'tsconfig', 'out']) delete config[key];
  settings = config;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Converts and validates `source` as the fixture's entry point; returns what TypeDoc logged. */
async function check(source: string): Promise<CollectingLogger> {
  await writeFile(join(dir, 'index.ts'), source);
  const app = await Application.bootstrapWithPlugins(
    { ...settings, entryPoints: [join(dir, 'index.ts')], tsconfig: join(dir, 'tsconfig.json'), plugin: [] },
    [new TSConfigReader()],
  );
  const logger = new CollectingLogger();
  app.logger = logger;
  const project = await app.convert();
  expect(project, logger.errors.join('\n')).toBeDefined();
  app.validate(project!);
  return logger;
}

describe('API reference check', () => {
  it('warns about a public export without a doc comment, naming it', async () => {
    const logger = await check(
      [
        '/** Returns the answer. */',
        'export function documented(): number {',
        '  return 42;',
        '}',
        '',
        'export interface Undocumented {',
        '  /** A field with its comment. */',
        '  field: number;',
        '}',
      ].join('\n'),
    );
    expect(logger.errors).toEqual([]);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/^Undocumented \(Interface\), defined in .*index\.ts, does not have any documentation/);
  });

  it('warns about nothing once every export and member has its comment (an @internal one is left out)', async () => {
    const logger = await check(
      [
        '/** Returns the answer. */',
        'export function documented(): number {',
        '  return 42;',
        '}',
        '',
        '/** Something users name. */',
        'export interface Documented {',
        '  /** A field with its comment. */',
        '  field: number;',
        '  /** @internal */',
        '  hidden: number;',
        '}',
      ].join('\n'),
    );
    expect(logger.errors).toEqual([]);
    expect(logger.warnings).toEqual([]);
  });

  it('is part of npm test, after lint and typecheck and before the build', async () => {
    const { scripts } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['docs:check']).toMatch(/^typedoc --emit none\b/);
    const steps = scripts.test!.split('&&').map((step) => step.trim());
    expect(steps.indexOf('npm run docs:check')).toBeGreaterThan(steps.indexOf('npm run typecheck'));
    expect(steps.indexOf('npm run typecheck')).toBeGreaterThan(steps.indexOf('npm run lint'));
    expect(steps.indexOf('npm run build')).toBeGreaterThan(steps.indexOf('npm run docs:check'));
    expect(steps.indexOf('npm run lint')).toBeGreaterThanOrEqual(0);
  });
});
