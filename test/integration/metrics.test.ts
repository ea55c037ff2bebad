// `/metrics` of a clustered node pair with a gateway: promtool accepts the text, a real Prometheus
// server scrapes it and answers a query for a counter the test made move, and `horde node --metrics`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, startGateway, startNode, type Gateway, type GatewayClient, type HordeNode } from '../../src/index.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually, startNodeProcess, stopNodeProcess, type NodeProcess } from '../support/cluster.js';

let a: HordeNode;
let b: HordeNode;
let gateway: Gateway;
let client: GatewayClient;
const dataDir = mkdtempSync(join(tmpdir(), 'horde-metrics-data-'));

beforeAll(async () => {
  a = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 2, dataDir, metrics: { listen: '127.0.0.1:0' }, cluster: { name: 'metrics-a', secret: SECRET } });
  a.on('clusterConnection', () => undefined);
  const seed = `${a.clusterAddress.host}:${a.clusterAddress.port}`;
  b = await startNode({ behaviours: CLUSTER_MODULES, preload: [PRELOAD], executors: 1, cluster: { name: 'metrics-b', secret: SECRET, seeds: [seed] } });
  b.on('clusterConnection', () => undefined);
  a.register('echo', await a.spawn('echo', undefined, { shard: 1 }));
  gateway = await startGateway(a, { listen: { host: '127.0.0.1', port: 0 }, throttle: false });
  client = await connect(gateway.address);
  await eventually(() => a.members().some((member) => member.name === 'metrics-b' && member.state === 'up'), 30_000, 'metrics-b is up on metrics-a');
});

afterAll(async () => {
  await client?.close();
  await gateway?.close();
  await b?.stop();
  await a?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function metricsUrl(path = '/metrics'): string {
  const address = a.metricsAddress!;
  return `http://${address.host}:${address.port}${path}`;
}

async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl());
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of the sample `series` (name and labels exactly as written) in `text`, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Runs `command args` with `input` on stdin; resolves with its exit code and output. */
function run(command: string, args: string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('/metrics', () => {
  it('serves the families of a clustered node with a gateway, and promtool accepts the text', async () => {
    for (let i = 0; i < 20; i++) await expect(client.request('echo', i)).resolves.toBe(i);
    const io = await a.spawn('io-client', undefined, { shard: 0 });
    for (let i = 0; i < 3; i++) await expect(a.ask(io, { op: 'logAppend', log: 'metrics', record: `record ${i}` })).resolves.toMatchObject({ ok: true });
    const text = await scrape();
    expect(sample(text, 'horde_durable_log_appends_total')).toBe(3);
    expect(sample(text, 'horde_durable_log_bytes_total')).toBeGreaterThan(3 * 'record 0'.length);
    expect(sample(text, 'horde_durable_logs_open')).toBe(1);
    expect(sample(text, 'horde_messages_handled_total{shard="1"}')).toBeGreaterThanOrEqual(20);
    expect(sample(text, 'horde_processes{shard="1"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'horde_peer_state{peer="metrics-b",state="up"}')).toBe(1);
    expect(sample(text, 'horde_peer_state{peer="metrics-b",state="down"}')).toBe(0);
    expect(sample(text, 'horde_peer_sent_bytes_total{peer="metrics-b"}')).toBeGreaterThan(0);
    expect(sample(text, `horde_gateway_requests_completed_total{gateway="${gateway.address.host}:${gateway.address.port}"}`)).toBeGreaterThanOrEqual(20);
    expect(sample(text, `horde_gateway_connections{gateway="${gateway.address.host}:${gateway.address.port}"}`)).toBe(1);
    expect(sample(text, 'horde_service_up{service="poller"}')).toBe(1);
    expect(sample(text, 'horde_executor_restarts_total')).toBe(0);
    expect(text).toContain('# TYPE horde_messages_handled_total counter');
    expect(text).toContain('# TYPE horde_run_queue gauge');
    expect(text).toContain('horde_ring_overflow_envelopes{shard="main",destination="0"}');
    expect(text).toContain('horde_main_event_loop_delay_seconds');
    expect(text).not.toMatch(/pid="/);
    const checked = await run('promtool', ['check', 'metrics'], text);
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
  });

  it('answers 404 for any other path', async () => {
    const response = await fetch(metricsUrl('/'));
    expect(response.status).toBe(404);
    await response.text();
  });

  it('refuses a bad listen address with HORDE_INVALID_OPTION', async () => {
    await expect(startNode({ executors: 1, metrics: { listen: 'nowhere' } })).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION' });
    const taken = a.metricsAddress!;
    await expect(startNode({ executors: 1, metrics: { listen: `${taken.host}:${taken.port}` } })).rejects.toMatchObject({ code: 'HORDE_INVALID_OPTION' });
  });

  describe('scraped by a real Prometheus server', () => {
    let prometheus: ChildProcess | undefined;
    let dir = '';
    const log: string[] = [];

    afterAll(async () => {
      if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
        const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
        prometheus.kill('SIGKILL');
        await exited;
      }
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    it('answers a query for a counter the test made move', async () => {
      dir = mkdtempSync(join(tmpdir(), 'horde-prometheus-'));
      const target = a.metricsAddress!;
      const config = join(dir, 'prometheus.yml');
      writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: horde\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['${target.host}:${target.port}']\n`);
      const port = await freePort();
      prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      prometheus.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
      const requests = 37;
      const before = sample(await scrape(), `horde_gateway_requests_completed_total{gateway="${gateway.address.host}:${gateway.address.port}"}`)!;
      for (let i = 0; i < requests; i++) await client.request('echo', i);
      const query = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('horde_gateway_requests_completed_total{job="horde"}')}`;
      let seen: number | undefined;
      await eventually(
        async () => {
          if (prometheus!.exitCode !== null) throw new Error(`prometheus exited with ${prometheus!.exitCode}: ${log.join('')}`);
          // Refused while Prometheus starts: ask again on the next poll.
          const response = await fetch(query).catch((error: unknown) => {
            if (error instanceof TypeError && error.message === 'fetch failed') return undefined;
            throw error;
          });
          const answer = response?.ok === true ? ((await response.json()) as { data: { result: { value: [number, string] }[] } }) : undefined;
          const value = answer?.data.result[0]?.value[1];
          seen = value === undefined ? undefined : Number(value);
          return seen !== undefined && seen >= before + requests;
        },
        30_000,
        'Prometheus shows the gateway requests',
      );
      expect(seen).toBe(before + requests);
    });
  });

  describe('horde node --metrics', () => {
    let cli: NodeProcess | undefined;
    afterAll(async () => {
      if (cli !== undefined) await stopNodeProcess(cli);
    });

    it('serves /metrics at the address in its ready line', async () => {
      cli = await startNodeProcess('metrics-cli', { spawn: ['echo:echo'], args: ['--metrics', '127.0.0.1:0'] });
      expect(cli.metrics?.port).toBeGreaterThan(0);
      const response = await fetch(`http://${cli.metrics!.host}:${cli.metrics!.port}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(sample(text, 'horde_processes{shard="0"}')).toBe(1);
      expect(sample(text, 'horde_registered_names')).toBe(1);
    });
  });
});
