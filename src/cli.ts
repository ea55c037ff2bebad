#!/usr/bin/env node
// The `horde` command. Later issues add `node`, `status` and `loadtest`; today it reports its
// version and usage, and refuses unknown commands with exit code 2.
import { readFileSync } from 'node:fs';

const USAGE = `usage: horde <command>

commands:
  version      print the installed version
  help         print this text

Benchmarks run from a source checkout: npm run bench -- <suite>`;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

export function main(argv: readonly string[]): number {
  const [command] = argv;
  switch (command) {
    case 'version':
    case '--version':
      console.log(version());
      return 0;
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`horde: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
