#!/usr/bin/env node
// The `horde` command: `node` runs a cluster node until SIGTERM, `status` prints a node's view of
// the cluster, `version` and `help`. Bad arguments: a message on stderr and exit code 2.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isWireError } from './errors.js';
import { parseAddress, readSecretFile } from './cluster/options.js';
import { fetchClusterStatus } from './cluster/status-client.js';
import { startNode, type HordeNode } from './node/node.js';

const USAGE = `usage: horde <command> [options]

commands:
  node      run a cluster node until SIGTERM or SIGINT (then it stops gracefully)
            --name NAME --listen HOST:PORT [--join HOST:PORT ...] --secret-file FILE
            --module URL ... [--preload URL ...] [--executors N] [--spawn KIND:NAME ...]
            [--insecure] (no secret; loopback only)
            prints one JSON line {"event":"ready",...} on stdout once it listens
  status    print a node's view of the cluster: status HOST:PORT --secret-file FILE
  version   print the installed version
  help      print this text

Benchmarks and the load test run from a source checkout: npm run bench -- <suite>`;

class UsageError extends Error {}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

function describe(error: unknown): string {
  if (error instanceof Error) return 'code' in error ? `${String(error.code)}: ${error.message}` : error.message;
  if (isWireError(error)) return `${error.code}: ${error.message}`;
  return String(error);
}

async function runNode(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      listen: { type: 'string' },
      join: { type: 'string', multiple: true },
      'secret-file': { type: 'string' },
      module: { type: 'string', multiple: true },
      preload: { type: 'string', multiple: true },
      executors: { type: 'string' },
      spawn: { type: 'string', multiple: true },
      insecure: { type: 'boolean' },
      'heartbeat-ms': { type: 'string' },
    },
    strict: true,
  });
  if (values.name === undefined) throw new UsageError('node: --name is required');
  if (values.listen === undefined) throw new UsageError('node: --listen HOST:PORT is required');
  if ((values.module ?? []).length === 0) throw new UsageError('node: at least one --module URL is required');
  if (values['secret-file'] === undefined && values.insecure !== true) throw new UsageError('node: --secret-file FILE is required (or --insecure on loopback)');
  const listen = values.listen.endsWith(':0') ? { host: values.listen.slice(0, -2), port: 0 } : parseAddress('--listen', values.listen);
  const spawns = (values.spawn ?? []).map((spec) => {
    const [kind, name] = spec.split(':');
    if (kind === undefined || kind === '' || name === undefined || name === '') throw new UsageError(`node: --spawn takes KIND:NAME; got "${spec}"`);
    return { kind, name };
  });
  const node: HordeNode = await startNode({
    behaviours: values.module!,
    preload: values.preload ?? [],
    executors: values.executors === undefined ? undefined : Number(values.executors),
    cluster: {
      name: values.name,
      listen,
      seeds: values.join ?? [],
      secret: values['secret-file'] === undefined ? undefined : readSecretFile(values['secret-file']),
      insecure: values.insecure === true,
      heartbeatMs: values['heartbeat-ms'] === undefined ? undefined : Number(values['heartbeat-ms']),
    },
  });
  for (const { kind, name } of spawns) node.register(name, await node.spawn(kind));
  const address = node.clusterAddress;
  process.stdout.write(`${JSON.stringify({ event: 'ready', name: address.name, host: address.host, port: address.port, pid: process.pid })}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await node.stop();
  return 0;
}

async function runStatus(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'secret-file': { type: 'string' }, insecure: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const [target] = positionals;
  if (target === undefined) throw new UsageError('status: HOST:PORT is required');
  const { host, port } = parseAddress('status', target);
  const secret = values['secret-file'] !== undefined ? readSecretFile(values['secret-file']) : values.insecure === true ? 'horde-insecure-loopback-only' : undefined;
  if (secret === undefined) throw new UsageError('status: --secret-file FILE is required');
  const status = await fetchClusterStatus(host, port, secret);
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
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
      case 'node':
        return await runNode(rest);
      case 'status':
        return await runStatus(rest);
      default:
        console.error(`horde: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      console.error(`horde: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`horde: ${describe(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
