// A cluster of the installed package on loopback: a seed started with the `horde` bin and no
// modules (it only joins, routes and runs a gateway), and two nodes of this application. Prints
// one JSON report. Argument: the seed's cluster address.
import {
  HordeError,
  connect,
  startGateway,
  startNode,
  type ClusterOptions,
  type GatewayStatus,
  type HordeNode,
  type MemberStatus,
} from 'horde';
import type { CounterMsg, EchoMsg } from './kinds.js';

const [seed, seedGateway] = process.argv.slice(2) as [string, string];

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function member(name: string): ClusterOptions {
  return { name, insecure: true, seeds: [seed] };
}

const start = (name: string): Promise<HordeNode> => startNode({ behaviours: [new URL('./kinds.ts', import.meta.url)], executors: 1, cluster: member(name) });
const [a, b] = await Promise.all([start('app-a'), start('app-b')]);
const report: Record<string, unknown> = {};

a.register('shared-counter', await a.spawn<CounterMsg>('counter', { start: 100 }));
a.register('echo', await a.spawn<EchoMsg>('echo'));
const remote = await until('b sees the name registered on a', () => b.whereis<CounterMsg>('shared-counter'));
b.send(remote, { type: 'inc', by: 5 });
report.remoteAsk = await b.ask<number>(remote, { type: 'get' });
report.remoteNode = remote.node === a.self.node && remote.node !== b.self.node;
await until('b sees both other members up', () => {
  const up = b.members().filter((m: MemberStatus) => m.state === 'up').map((m) => m.name);
  return up.length === 2 ? up : undefined;
});
report.members = b.members().map((m) => m.name).sort();

// The module-less seed's gateway serves a service registered on node a.
const [host, port] = seedGateway.split(':');
const client = await connect({ host: host!, port: Number(port) });
report.viaSeedGateway = await until('the seed gateway knows "echo"', async () => {
  try {
    return await client.request('echo', { hello: 'seed' }, { timeoutMs: 5000 });
  } catch (error) {
    if (error instanceof HordeError && error.code === 'HORDE_UNKNOWN_SERVICE') return undefined;
    throw error;
  }
});
try {
  await client.request('no-such-service', {});
} catch (error) {
  report.unknownService = error instanceof HordeError ? error.code : String(error);
}
await client.close();

// A gateway started by the application itself.
const gateway = await startGateway(a, { listen: { host: '127.0.0.1', port: 0 } });
const local = await connect(gateway.address);
report.viaOwnGateway = await local.request('echo', [1, 'two']);
await local.close();
const status: GatewayStatus = gateway.status();
report.gatewayCompleted = status.completed;
await gateway.close();

await Promise.all([a.stop(), b.stop()]);
console.log(JSON.stringify(report));
