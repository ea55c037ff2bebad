// The conformance driver over real `horde node` processes on loopback (dist/cli.js: build first).
// Node i is a process named n<i> running the conformance behaviours and an agent (`agent-n<i>`)
// that spawns for the test; the test itself is a tester HordeNode in this process, a member of
// the cluster that sends and asks from there. Faults: kill -9, and partitions as iptables DROP rules.
//
// A partition of `side` from `other` cuts, by port pair, every TCP connection between a process of
// one and a process of the other (found in /proc; a mesh connection was dialled by one of the
// two, from an ephemeral port, so the listen ports alone do not name it), and drops new
// connections (SYN) to 127.0.0.1 at the listen ports of every node involved, so that a redial
// after the failure detector gave up cannot cross either. The tester's connections are left alone
// (it is the test's harness, as the sim's is outside the network). Nodes listen on every address
// and advertise 127.0.0.1: the test fetches their status at 127.0.0.2, which no rule drops, so
// member states and dead letters can be read during a partition too.
import type { Pid } from '../../src/index.js';
import { startNode, type HordeNode } from '../../src/index.js';
import { fetchClusterStatus } from '../../src/cluster/status-client.js';
import type { AgentMsg } from '../fixtures/conformance-behaviours.js';
import { PRELOAD, SECRET, eventually, secretFile, startNodeProcess, stopNodeProcess, type NodeProcess } from '../support/cluster.js';
import { dropOnLoopback, loopbackSockets, removeAllDrops, requireIptables } from '../support/iptables.js';
import { HEARTBEAT_MS, type ConformanceCluster } from './driver.js';

export const CONFORMANCE_MODULE = new URL('../fixtures/conformance-behaviours.ts', import.meta.url);
/** Where the test fetches a node's status: a loopback address the partitions' rules leave alone. */
const STATUS_HOST = '127.0.0.2';
/** Wall-clock time `until` waits at most. */
const UNTIL_LIMIT_MS = 30_000;

/**
 * Starts `nodes` node processes and the tester at once (the tester then joins each node, and
 * gossip introduces the nodes to each other), and waits until every member sees every other up.
 */
export async function startReal(nodes: number): Promise<ConformanceCluster> {
  const secret = secretFile();
  const starting = Array.from({ length: nodes }, (_, i) =>
    startNodeProcess(`n${i + 1}`, {
      secretFile: secret,
      heartbeatMs: HEARTBEAT_MS,
      spawn: [`conf-agent:agent-n${i + 1}`],
      // Every loopback address reaches the node; peers dial 127.0.0.1, the status client 127.0.0.2.
      args: ['--module', CONFORMANCE_MODULE.href, '--listen', '0.0.0.0:0', '--advertise', '127.0.0.1:0'],
    }),
  );
  const testerStarting = startNode({ behaviours: [CONFORMANCE_MODULE], preload: [PRELOAD], executors: 1, cluster: { name: 'tester', secret: SECRET, heartbeatMs: HEARTBEAT_MS } });
  const started = await Promise.allSettled([testerStarting, ...starting]);
  const tester = started[0].status === 'fulfilled' ? started[0].value : undefined;
  const procs = started.slice(1).flatMap((s) => (s.status === 'fulfilled' ? [s.value as NodeProcess] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const t = tester!;
    t.on('clusterConnection', () => undefined);
    for (const proc of procs) await t.join(proc.address);
    await eventually(() => procs.every((p) => t.whereis(`agent-${p.name}`) !== undefined), 30_000, 'the tester sees every agent');
    for (const proc of procs) {
      await eventually(async () => (await fetchClusterStatus(STATUS_HOST, proc.port, SECRET)).members.filter((m) => m.state === 'up').length === nodes, 30_000, `${proc.name} sees every member up`);
    }
    return realCluster(procs, t);
  } catch (error) {
    await tester?.stop();
    await Promise.all(procs.map(stopNodeProcess));
    throw error;
  }
}

function realCluster(procs: NodeProcess[], tester: HordeNode): ConformanceCluster {
  const proc = (node: number): NodeProcess => {
    const p = procs[node - 1];
    if (p === undefined) throw new Error(`no node ${node}`);
    return p;
  };
  const running = (p: NodeProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;
  return {
    world: 'real processes',
    size: procs.length,
    spawn: <M>(node: number, kind: string, args?: unknown) => tester.ask<Pid<M>>(tester.whereis<AgentMsg>(`agent-n${node}`)!, { type: 'spawn', kind, args }, { timeoutMs: 10_000 }),
    send: (to, msg) => {
      tester.send(to, msg);
      return Promise.resolve();
    },
    ask: <R>(to: Pid, msg: unknown) => tester.ask<R>(to, msg, { timeoutMs: 10_000 }),
    partition: async (side, other) => {
      await requireIptables();
      const pids = new Map<number, 'side' | 'other'>();
      for (const n of side) pids.set(proc(n).child.pid!, 'side');
      for (const n of other) pids.set(proc(n).child.pid!, 'other');
      const sockets = await loopbackSockets([...pids.keys()]);
      const owner = new Map<number, number>(sockets.map((s) => [s.localPort, s.pid]));
      const pairs = new Set<string>();
      for (const s of sockets) {
        const mine = pids.get(s.pid);
        const peer = owner.get(s.peerPort);
        const theirs = peer === undefined ? undefined : pids.get(peer);
        if (mine === 'side' && theirs === 'other') pairs.add(`${s.localPort}:${s.peerPort}`);
      }
      if (pairs.size === 0) throw new Error('partition: /proc/net/tcp shows no connection between the two sides');
      const rules = [...pairs].flatMap((pair) => {
        const [a, b] = pair.split(':') as [string, string];
        return [['--sport', a, '--dport', b], ['--sport', b, '--dport', a]];
      });
      for (const n of [...side, ...other]) rules.push(['-d', '127.0.0.1', '--dport', String(proc(n).port), '--syn']);
      await dropOnLoopback(rules);
    },
    heal: async () => {
      await removeAllDrops();
    },
    kill: async (node) => {
      const p = proc(node);
      p.child.kill('SIGKILL');
      await p.exited;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    until: (what, check) => eventually(check, UNTIL_LIMIT_MS, `${what} (real processes)`),
    memberState: async (observer, member) => {
      const status = await fetchClusterStatus(STATUS_HOST, proc(observer).port, SECRET);
      return status.members.find((m) => m.name === `n${member}`)?.state;
    },
    deadLetters: async () => {
      let total = 0;
      for (const p of procs.filter(running)) total += (await fetchClusterStatus(STATUS_HOST, p.port, SECRET)).deadLetters;
      return total;
    },
    stop: async () => {
      try {
        await removeAllDrops();
      } finally {
        await tester.stop();
        await Promise.all(procs.map(stopNodeProcess));
      }
    },
  };
}
