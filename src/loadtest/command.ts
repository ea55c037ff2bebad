// `horde loadtest`: a local cluster with gateways (or existing gateways with --targets), the
// open-loop load test against it, the summary on stdout and the JSON and HTML reports in a directory.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { parseAddress } from '../cluster/options.js';
import { connect } from '../gateway/client.js';
import { formatSummary, runLoadTest, writeReports } from './index.js';
import { startLocalCluster } from './local-cluster.js';
import { BENCH_SERVICE_NAME } from './service.js';
import type { LoadTarget } from './types.js';

function positiveInt(name: string, value: string | undefined, fallback: number, usage: (m: string) => Error): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw usage(`loadtest: --${name} must be a positive integer; got "${value}"`);
  return n;
}

export async function runLoadTestCommand(args: string[], usage: (message: string) => Error): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string' },
      compare: { type: 'boolean' },
      steps: { type: 'string' },
      'step-ms': { type: 'string' },
      'cost-us': { type: 'string' },
      out: { type: 'string' },
      targets: { type: 'string' },
    },
    strict: true,
  });
  const nodes = positiveInt('nodes', values.nodes, 3, usage);
  const steps = positiveInt('steps', values.steps, 8, usage);
  const stepMs = positiveInt('step-ms', values['step-ms'], 5000, usage);
  const costUs = positiveInt('cost-us', values['cost-us'], 200, usage);
  const out = resolve(values.out ?? 'loadtest-report');
  let target: LoadTarget & { close(): Promise<void> };
  let stopCluster = (): Promise<void> => Promise.resolve();
  if (values.targets !== undefined) {
    const clients = await Promise.all(values.targets.split(',').map((address) => connect(parseAddress('--targets', address))));
    let next = 0;
    target = {
      request: () => clients[next++ % clients.length]!.request(BENCH_SERVICE_NAME, { costUs }),
      sample: () => Promise.resolve({ gateways: [], nodes: [] }),
      setThrottling: () => Promise.resolve(),
      close: async () => {
        await Promise.all(clients.map((client) => client.close()));
      },
    };
  } else {
    process.stderr.write(`[loadtest] starting a local cluster of ${nodes} nodes\n`);
    const cluster = await startLocalCluster(nodes);
    stopCluster = () => cluster.stop();
    try {
      target = await cluster.target({ costUs });
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }
  try {
    const result = await runLoadTest({ compare: values.compare === true, schedule: { steps, stepMs } }, target);
    process.stdout.write(`${formatSummary(result)}\n`);
    const files = await writeReports(result, out);
    process.stdout.write(`report: ${files.html}\njson:   ${files.json}\n`);
    return 0;
  } finally {
    await target.close();
    await stopCluster();
  }
}
