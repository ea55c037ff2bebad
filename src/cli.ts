#!/usr/bin/env node
// The `horde` command: `node` runs a cluster node until SIGTERM, `status` prints a node's view of
// the cluster, `version` and `help`. Bad arguments: a message on stderr and exit code 2.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isWireError } from './errors.js';
import { isWildcardHost, parseAddress, readSecretFile } from './cluster/options.js';
import { fetchClusterStatus } from './cluster/status-client.js';
import { startNode, type HordeNode } from './node/node.js';
import type { TypeScriptMode } from './internal/typescript-loader.js';
import { startGateway, type Gateway } from './gateway/gateway.js';
import { runLoadTestCommand } from './loadtest/command.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const USAGE = `usage: horde <command> [options]

commands:
  node      run a cluster node until SIGTERM or SIGINT (then it stops gracefully)
            --name NAME --listen HOST:PORT [--advertise HOST:PORT] [--join HOST:PORT ...] --secret-file FILE
            [--module URL|PATH ...] [--preload URL|PATH ...] [--typescript auto|tsx|off] [--executors N] [--spin CHECKS] [--spawn KIND:NAME ...]
            [--data-dir DIR] [--max-message-bytes N]
            [--insecure] (no secret; loopback only) [--gateway HOST:PORT] [--stats-ms N] [--metrics HOST:PORT]
            prints one JSON line {"event":"ready",...} on stdout once it listens; with
            --stats-ms, a {"event":"stats",...} line every N ms; reads commands from stdin
            ({"cmd":"throttling","enabled":false}) when it runs a gateway; --metrics serves
            Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, in the ready line)
  loadtest  start a local cluster with gateways (or use --targets) and load it open-loop:
            [--nodes 3] [--compare] [--steps 8] [--step-ms 5000] [--cost-us 200]
            [--out DIR] [--targets HOST:PORT,...]
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
      advertise: { type: 'string' },
      join: { type: 'string', multiple: true },
      'secret-file': { type: 'string' },
      module: { type: 'string', multiple: true },
      preload: { type: 'string', multiple: true },
      typescript: { type: 'string' },
      executors: { type: 'string' },
      spin: { type: 'string' },
      'data-dir': { type: 'string' },
      'max-message-bytes': { type: 'string' },
      spawn: { type: 'string', multiple: true },
      insecure: { type: 'boolean' },
      'heartbeat-ms': { type: 'string' },
      gateway: { type: 'string' },
      'stats-ms': { type: 'string' },
      metrics: { type: 'string' },
    },
    strict: true,
  });
  if (values.name === undefined) throw new UsageError('node: --name is required');
  if (values.listen === undefined) throw new UsageError('node: --listen HOST:PORT is required');
  if (values['secret-file'] === undefined && values.insecure !== true) throw new UsageError('node: --secret-file FILE is required (or --insecure on loopback)');
  const listen = parseListen('--listen', values.listen);
  if (isWildcardHost(listen.host) && values.advertise === undefined) {
    throw new UsageError(`node: --listen ${values.listen} listens on every interface, an address no peer can dial: give --advertise HOST:PORT (port 0: the port it listens on)`);
  }
  const spawns = (values.spawn ?? []).map((spec) => {
    const [kind, name] = spec.split(':');
    if (kind === undefined || kind === '' || name === undefined || name === '') throw new UsageError(`node: --spawn takes KIND:NAME; got "${spec}"`);
    return { kind, name };
  });
  const node: HordeNode = await startNode({
    behaviours: (values.module ?? []).map(moduleUrl),
    preload: (values.preload ?? []).map(moduleUrl),
    typescript: values.typescript as TypeScriptMode | undefined,
    executors: values.executors === undefined ? undefined : Number(values.executors),
    spin: values.spin === undefined ? undefined : Number(values.spin),
    dataDir: values['data-dir'] === undefined ? undefined : resolve(values['data-dir']),
    maxMessageBytes: values['max-message-bytes'] === undefined ? undefined : Number(values['max-message-bytes']),
    cluster: {
      name: values.name,
      listen,
      advertise: values.advertise,
      seeds: values.join ?? [],
      secret: values['secret-file'] === undefined ? undefined : readSecretFile(values['secret-file']),
      insecure: values.insecure === true,
      heartbeatMs: values['heartbeat-ms'] === undefined ? undefined : Number(values['heartbeat-ms']),
    },
    metrics: values.metrics === undefined ? undefined : { listen: values.metrics },
  });
  for (const { kind, name } of spawns) node.register(name, await node.spawn(kind));
  const gateway = values.gateway === undefined ? undefined : await startGateway(node, { listen: parseListen('--gateway', values.gateway) });
  gateway?.on('throttle', (change: { throttled: boolean; canaryMs: number; at: number }) => {
    process.stdout.write(`${JSON.stringify({ event: 'throttle', ...change })}\n`);
  });
  const address = node.clusterAddress;
  process.stdout.write(`${JSON.stringify({ event: 'ready', name: address.name, host: address.host, port: address.port, gateway: gateway?.address, metrics: node.metricsAddress, pid: process.pid })}\n`);
  const stopStats = values['stats-ms'] === undefined ? undefined : reportStats(node, gateway, Number(values['stats-ms']));
  if (gateway !== undefined) readCommands(gateway);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  stopStats?.();
  await gateway?.close();
  await node.stop();
  process.stdin.destroy();
  return 0;
}

/** A module given on the command line: a URL as it is, a path (relative to the working directory) as a file URL. */
function moduleUrl(value: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : pathToFileURL(resolve(value)).href;
}

function parseListen(option: string, value: string): { host: string; port: number } {
  return value.endsWith(':0') ? { host: value.slice(0, -2), port: 0 } : parseAddress(option, value);
}

const DELAY_RESOLUTION_MS = 10;

/** A stats line every `ms`: the gateway's status, the main thread's event-loop delay and memory. */
function reportStats(node: HordeNode, gateway: Gateway | undefined, ms: number): () => void {
  if (!Number.isInteger(ms) || ms < 10) throw new UsageError('node: --stats-ms must be an integer >= 10');
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  const timer = setInterval(() => {
    const memory = process.memoryUsage();
    // The histogram holds the time between its timer's ticks, resolution included (an idle loop
    // reads 10.2 ms at 10 ms): the delay is what lies beyond the resolution.
    const eventLoopDelayP99Ms = Math.max(0, delay.percentile(99) / 1e6 - DELAY_RESOLUTION_MS);
    const line = { event: 'stats', name: node.clusterAddress.name, eventLoopDelayP99Ms, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, gateway: gateway?.status() };
    delay.reset();
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }, ms);
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}

/** Commands on stdin, one JSON object a line; a bad line is reported on stderr and skipped. */
function readCommands(gateway: Gateway): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    try {
      const command = JSON.parse(line) as { cmd?: unknown; enabled?: unknown };
      if (command.cmd === 'throttling' && typeof command.enabled === 'boolean') {
        gateway.setThrottling(command.enabled);
        process.stdout.write(`${JSON.stringify({ event: 'throttling', enabled: command.enabled })}\n`);
      } else process.stderr.write(`horde node: unknown command ${line}\n`);
    } catch (error) {
      process.stderr.write(`horde node: bad command line (${describe(error)}): ${line}\n`);
    }
  });
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
      case 'loadtest':
        return await runLoadTestCommand(rest, (message) => new UsageError(message));
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
