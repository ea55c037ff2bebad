// The conformance scenarios, each written once against ConformanceCluster and run in both worlds.
// Each returns an outcome holding only what both worlds must agree on, and states the outcome the
// README's guarantees promise ("The cluster": per node pair in order, exactly once while both
// live, also across a partition that heals before the failure detector declares a node down; once
// declared down, monitors get DOWN 'noconnection', links exit signals, messages are dead letters).
import type { Pid } from '../../src/index.js';
import type { CounterMsg, IncerMsg, Notice, SinkMsg, SourceMsg, StreamReport, WatcherMsg, WorkerMsg } from '../fixtures/conformance-behaviours.js';
import type { ConformanceCluster } from './driver.js';

export interface Scenario {
  name: string;
  nodes: number;
  /** It leaves every node up and connected, no rule in place: a cluster may be reused after it. */
  leavesClusterWhole: boolean;
  /** What the README promises. */
  expected: unknown;
  run(cluster: ConformanceCluster): Promise<unknown>;
}

/** A watcher's notices in a canonical order (their order across pids is not promised). */
async function notices(c: ConformanceCluster, watcher: Pid<WatcherMsg>): Promise<Notice[]> {
  const seen = await c.ask<Notice[]>(watcher, { type: 'notices' });
  return [...seen].sort((a, b) => `${a.label} ${a.kind}`.localeCompare(`${b.label} ${b.kind}`));
}

async function stream(c: ConformanceCluster, sink: Pid<SinkMsg>, source: string): Promise<StreamReport | undefined> {
  return (await c.ask<Record<string, StreamReport>>(sink, { type: 'report' }))[source];
}

/** What a stream guarantees when its sender may die or be cut off: a gap-free prefix, once each. */
function prefixOnce(report: StreamReport | undefined): { received: boolean; gapFreePrefix: boolean; duplicates: number } {
  return {
    received: report !== undefined && report.received > 0,
    gapFreePrefix: report !== undefined && report.runs.length === 1 && report.runs[0]![0] === 1,
    duplicates: report?.duplicates ?? 0,
  };
}

/**
 * A member state as the guarantees speak of it: 'up' and 'suspect' are both 'live' (a busy machine
 * makes a member suspect for a moment now and then; only 'down' fires watches and drops messages).
 */
async function liveness(c: ConformanceCluster, observer: number, member: number): Promise<string | undefined> {
  const state = await c.memberState(observer, member);
  return state === 'up' || state === 'suspect' ? 'live' : state;
}

async function watch(c: ConformanceCluster, watcher: Pid<WatcherMsg>, pid: Pid, label: string, link: boolean): Promise<void> {
  await c.send(watcher, { type: 'monitor', pid, label });
  if (link) await c.send(watcher, { type: 'link', pid, label });
}

const counter: Scenario = {
  name: 'a counter service incremented from two nodes',
  leavesClusterWhole: true,
  nodes: 3,
  expected: { final: 500, eachSawItsOwnIncs: [true, true] },
  async run(c) {
    const count = await c.spawn<CounterMsg>(3, 'conf-counter');
    const incers = [await c.spawn<IncerMsg>(1, 'conf-incer'), await c.spawn<IncerMsg>(2, 'conf-incer')];
    const n = [300, 200];
    for (const [i, incer] of incers.entries()) await c.send(incer, { type: 'run', counter: count, n: n[i]! });
    const seen: (number | null)[] = [null, null];
    await c.until('both incers have the count', async () => {
      for (const [i, incer] of incers.entries()) seen[i] = await c.ask<number | null>(incer, { type: 'result' });
      return seen.every((v) => v !== null);
    });
    // Each incer's count came after its own incs (one node pair, in order), so both are in now.
    return { final: await c.ask<number>(count, { type: 'get' }), eachSawItsOwnIncs: seen.map((v, i) => v! >= n[i]! && v! <= 500) };
  },
};

const linksAndMonitors: Scenario = {
  name: 'links and monitors across nodes',
  leavesClusterWhole: true,
  nodes: 3,
  expected: [
    { kind: 'DOWN', label: 'crashes', reason: 'Error: boom' },
    { kind: 'EXIT', label: 'crashes', reason: 'Error: boom' },
    { kind: 'DOWN', label: 'exits', reason: 'normal' },
    { kind: 'EXIT', label: 'exits', reason: 'normal' },
    { kind: 'DOWN', label: 'gone', reason: 'noproc' },
    { kind: 'EXIT', label: 'gone', reason: 'noproc' },
    { kind: 'DOWN', label: 'stops', reason: 'shutdown' },
  ],
  async run(c) {
    const watcher = await c.spawn<WatcherMsg>(1, 'conf-watcher');
    const exits = await c.spawn<WorkerMsg>(2, 'conf-worker');
    const crashes = await c.spawn<WorkerMsg>(2, 'conf-worker');
    const stops = await c.spawn<WorkerMsg>(2, 'conf-worker');
    await watch(c, watcher, exits, 'exits', true);
    await c.send(watcher, { type: 'tell', pid: exits, msg: { type: 'exit', reason: 'normal' } });
    await watch(c, watcher, crashes, 'crashes', true);
    await c.send(watcher, { type: 'tell', pid: crashes, msg: { type: 'crash', why: 'boom' } });
    await watch(c, watcher, stops, 'stops', false);
    await c.send(watcher, { type: 'tell', pid: stops, msg: { type: 'exit', reason: 'shutdown' } });
    await c.until('the watcher saw the three ends', async () => (await notices(c, watcher)).length === 5);
    // A pid whose process is gone: the monitor and the link are answered 'noproc'.
    await watch(c, watcher, exits, 'gone', true);
    await c.until('the watcher saw noproc', async () => (await notices(c, watcher)).length === 7);
    await c.sleep(200);
    return notices(c, watcher);
  },
};

const killed: Scenario = {
  name: 'a node killed while messages are in flight to and from it',
  leavesClusterWhole: false,
  nodes: 3,
  expected: {
    fromVictim: { received: true, gapFreePrefix: true, duplicates: 0 },
    toVictimSent: true,
    watcher1: [
      { kind: 'EXIT', label: 'victim-sink', reason: 'noconnection' },
      { kind: 'DOWN', label: 'victim-source', reason: 'noconnection' },
      { kind: 'EXIT', label: 'victim-source', reason: 'noconnection' },
    ],
    watcher2: [
      { kind: 'DOWN', label: 'victim-sink', reason: 'noconnection' },
      { kind: 'DOWN', label: 'victim-source', reason: 'noconnection' },
    ],
    members: ['down', 'down'],
    deadLetters: true,
    survivorsAnswer: 'pong',
  },
  async run(c) {
    const sink1 = await c.spawn<SinkMsg>(1, 'conf-sink');
    const source1 = await c.spawn<SourceMsg>(1, 'conf-source');
    const sink3 = await c.spawn<SinkMsg>(3, 'conf-sink');
    const source3 = await c.spawn<SourceMsg>(3, 'conf-source');
    const watcher1 = await c.spawn<WatcherMsg>(1, 'conf-watcher');
    const watcher2 = await c.spawn<WatcherMsg>(2, 'conf-watcher');
    const worker2 = await c.spawn<WorkerMsg>(2, 'conf-worker');
    await watch(c, watcher1, source3, 'victim-source', true);
    await c.send(watcher1, { type: 'link', pid: sink3, label: 'victim-sink' });
    await watch(c, watcher2, source3, 'victim-source', false);
    await watch(c, watcher2, sink3, 'victim-sink', false);
    await c.ask(source3, { type: 'stream', to: sink1, source: 'victim', count: 0, chunk: 20, everyMs: 2 });
    await c.ask(source1, { type: 'stream', to: sink3, source: 'survivor', count: 0, chunk: 20, everyMs: 2 });
    await c.until('both streams flow', async () => ((await stream(c, sink1, 'victim'))?.received ?? 0) >= 400 && ((await stream(c, sink3, 'survivor'))?.received ?? 0) >= 400);
    const deadLetters = await c.deadLetters();
    await c.kill(3);
    await c.until('the watchers saw the victim go', async () => (await notices(c, watcher1)).length === 3 && (await notices(c, watcher2)).length === 2);
    await c.until('node 3 is down for nodes 1 and 2', async () => (await c.memberState(1, 3)) === 'down' && (await c.memberState(2, 3)) === 'down');
    // The survivor's stream goes on into the void: dead letters.
    await c.until('dead letters counted', async () => (await c.deadLetters()) > deadLetters);
    const sent = await c.ask<number>(source1, { type: 'stop' });
    await c.sleep(100);
    return {
      fromVictim: prefixOnce(await stream(c, sink1, 'victim')),
      toVictimSent: sent > 0,
      watcher1: await notices(c, watcher1),
      watcher2: await notices(c, watcher2),
      members: [await liveness(c, 1, 3), await liveness(c, 2, 3)],
      deadLetters: (await c.deadLetters()) > deadLetters,
      survivorsAnswer: await c.ask(worker2, { type: 'ping' }),
    };
  },
};

/** A stream that ran to its end (`sent` numbers): all there once and in order when 0 missing, 0 gaps, 0 duplicates. */
function complete(report: StreamReport | undefined, sent: number): { missing: number; gaps: number; duplicates: number; first: number | undefined } {
  return { missing: sent - (report?.received ?? 0), gaps: Math.max(0, (report?.runs.length ?? 0) - 1), duplicates: report?.duplicates ?? 0, first: report?.runs[0]?.[0] };
}

const shortPartition: Scenario = {
  name: 'a partition that heals before the failure detector times out',
  leavesClusterWhole: true,
  nodes: 3,
  expected: {
    cutMidStream: true,
    oneToTwo: { missing: 0, gaps: 0, duplicates: 0, first: 1 },
    twoToOne: { missing: 0, gaps: 0, duplicates: 0, first: 1 },
    watcher1: [],
    watcher2: [],
    members: ['live', 'live', 'live', 'live'],
    deadLetters: 0,
  },
  async run(c) {
    const sink1 = await c.spawn<SinkMsg>(1, 'conf-sink');
    const source1 = await c.spawn<SourceMsg>(1, 'conf-source');
    const sink2 = await c.spawn<SinkMsg>(2, 'conf-sink');
    const source2 = await c.spawn<SourceMsg>(2, 'conf-source');
    const watcher1 = await c.spawn<WatcherMsg>(1, 'conf-watcher');
    const watcher2 = await c.spawn<WatcherMsg>(2, 'conf-watcher');
    await watch(c, watcher1, sink2, 'sink2', true);
    await watch(c, watcher1, source2, 'source2', true);
    await watch(c, watcher2, sink1, 'sink1', true);
    await watch(c, watcher2, source1, 'source1', true);
    const deadLetters = await c.deadLetters();
    // Both streams run until stopped after the heal.
    await c.ask(source1, { type: 'stream', to: sink2, source: 'n1', count: 0, chunk: 10, everyMs: 5 });
    await c.ask(source2, { type: 'stream', to: sink1, source: 'n2', count: 0, chunk: 10, everyMs: 5 });
    await c.until('both streams flow', async () => ((await stream(c, sink2, 'n1'))?.received ?? 0) >= 100 && ((await stream(c, sink1, 'n2'))?.received ?? 0) >= 100);
    await c.partition([2], [1, 3]);
    // Once what was already past the cut has arrived, the stream stands still until the heal (a
    // loaded machine may take longer to deliver what was in flight: look again, a few times).
    await c.sleep(200);
    let cut = -1;
    let atHeal = (await stream(c, sink2, 'n1'))!.received;
    for (let look = 0; look < 6 && cut !== atHeal; look++) {
      cut = atHeal;
      await c.sleep(100);
      atHeal = (await stream(c, sink2, 'n1'))!.received;
    }
    await c.heal();
    const sent1 = await c.ask<number>(source1, { type: 'stop' });
    const sent2 = await c.ask<number>(source2, { type: 'stop' });
    await c.until('both streams complete', async () => ((await stream(c, sink2, 'n1'))?.received ?? 0) >= sent1 && ((await stream(c, sink1, 'n2'))?.received ?? 0) >= sent2);
    await c.sleep(200);
    return {
      cutMidStream: cut === atHeal && atHeal < sent1,
      oneToTwo: complete(await stream(c, sink2, 'n1'), sent1),
      twoToOne: complete(await stream(c, sink1, 'n2'), sent2),
      watcher1: await notices(c, watcher1),
      watcher2: await notices(c, watcher2),
      members: [await liveness(c, 1, 2), await liveness(c, 2, 1), await liveness(c, 3, 2), await liveness(c, 2, 3)],
      deadLetters: (await c.deadLetters()) - deadLetters,
    };
  },
};

const BEFORE = 50;
const WHILE_DOWN = 30;
const AFTER = 40;

const longPartition: Scenario = {
  name: 'a partition held past the failure detector timeout, then healed',
  leavesClusterWhole: false,
  nodes: 3,
  expected: {
    // Each side: the far worker's DOWN and EXIT, and its own worker, linked across, ended by the exit signal.
    watcher1: [
      { kind: 'DOWN', label: 'far-worker', reason: 'noconnection' },
      { kind: 'EXIT', label: 'far-worker', reason: 'noconnection' },
      { kind: 'DOWN', label: 'near-worker', reason: 'noconnection' },
    ],
    watcher2: [
      { kind: 'DOWN', label: 'far-worker', reason: 'noconnection' },
      { kind: 'EXIT', label: 'far-worker', reason: 'noconnection' },
      { kind: 'DOWN', label: 'near-worker', reason: 'noconnection' },
    ],
    membersWhileCut: ['down', 'down', 'down', 'down'],
    membersAfterHeal: ['live', 'live', 'live', 'live'],
    // What was sent while down is gone; the stream goes on after the heal, once each, in order.
    stream: { received: BEFORE + AFTER, duplicates: 0, runs: [[1, BEFORE], [BEFORE + WHILE_DOWN + 1, BEFORE + WHILE_DOWN + AFTER]] },
  },
  async run(c) {
    const source1 = await c.spawn<SourceMsg>(1, 'conf-source');
    const sink2 = await c.spawn<SinkMsg>(2, 'conf-sink');
    const watcher1 = await c.spawn<WatcherMsg>(1, 'conf-watcher');
    const watcher2 = await c.spawn<WatcherMsg>(2, 'conf-watcher');
    const worker1 = await c.spawn<WorkerMsg>(1, 'conf-worker');
    const worker2 = await c.spawn<WorkerMsg>(2, 'conf-worker');
    await watch(c, watcher1, worker2, 'far-worker', true);
    await watch(c, watcher1, worker1, 'near-worker', false);
    await watch(c, watcher2, worker1, 'far-worker', true);
    await watch(c, watcher2, worker2, 'near-worker', false);
    await c.ask(source1, { type: 'burst', to: sink2, source: 'n1', n: BEFORE });
    await c.until('the first burst arrived', async () => (await stream(c, sink2, 'n1'))?.received === BEFORE);
    const pairs = [[1, 2], [2, 1], [3, 2], [2, 3]] as const;
    await c.partition([2], [1, 3]);
    await c.until('both sides saw the other go', async () => (await notices(c, watcher1)).length === 3 && (await notices(c, watcher2)).length === 3);
    await c.until('both sides declared the other down', async () => (await Promise.all(pairs.map(([o, m]) => c.memberState(o, m)))).every((s) => s === 'down'));
    const membersWhileCut = await Promise.all(pairs.map(([o, m]) => liveness(c, o, m)));
    const before = await c.deadLetters();
    await c.ask(source1, { type: 'burst', to: sink2, source: 'n1', n: WHILE_DOWN });
    await c.until('what was sent while down is dead letters', async () => (await c.deadLetters()) >= before + WHILE_DOWN);
    await c.heal();
    await c.until('the members are back up', async () => (await Promise.all(pairs.map(([o, m]) => c.memberState(o, m)))).every((s) => s === 'up'));
    await c.ask(source1, { type: 'burst', to: sink2, source: 'n1', n: AFTER });
    await c.until('the last burst arrived', async () => ((await stream(c, sink2, 'n1'))?.received ?? 0) >= BEFORE + AFTER);
    await c.sleep(200);
    return {
      watcher1: await notices(c, watcher1),
      watcher2: await notices(c, watcher2),
      membersWhileCut,
      membersAfterHeal: await Promise.all(pairs.map(([o, m]) => liveness(c, o, m))),
      stream: await stream(c, sink2, 'n1'),
    };
  },
};

/** Every scenario, in the order the suite runs them. */
export const scenarios: Scenario[] = [counter, linksAndMonitors, killed, shortPartition, longPartition];
