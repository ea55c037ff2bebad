// One node of the installed package: processes, names, links and monitors, supervisors, timers,
// files and the durable log, compute, protobuf messages, errors. Prints one JSON report.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ErrorCode,
  HordeError,
  SUPERVISOR_KIND,
  isPid,
  samePid,
  startNode,
  typed,
  type ChildInfo,
  type DownNotice,
  type NodeOptions,
  type NodeStatus,
  type Pid,
  type SupervisorSpec,
  type WhichChildren,
} from 'horde';
import { POINT, type CounterMsg, type FilesMsg, type FilesReport, type PointSinkMsg, type Seen, type TimerMsg, type WatcherMsg } from './kinds.js';

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'horde-package-app-'));
const options: NodeOptions = {
  behaviours: [new URL('./kinds.ts', import.meta.url)],
  computeModules: [new URL('./tasks.ts', import.meta.url)],
  preload: [new URL('./preload.mts', import.meta.url)],
  computeThreads: 1,
  executors: 2,
  dataDir,
};
const node = await startNode(options);
const report: Record<string, unknown> = {};

const counter = await node.spawn<CounterMsg>('counter', { start: 1 }, { shard: 1 });
node.send(counter, { type: 'inc', by: 2 });
report.ask = await node.ask<number>(counter, { type: 'get' });
report.preloaded = await node.ask<boolean>(counter, { type: 'preloaded' });
report.isPid = isPid(counter);

node.register('the-counter', counter);
const found = node.whereis<CounterMsg>('the-counter');
report.whereis = found !== undefined && samePid(found, counter);

// On the shard of the processes it links to and monitors, so its LINK and MONITOR are in place
// before its answer leaves (from another shard they could arrive after main's exit signals).
const watcher = await node.spawn<WatcherMsg>('watcher', undefined, { shard: 1 });
const victim = await node.spawn<CounterMsg>('counter', undefined, { shard: 1 });
await node.ask(watcher, { type: 'link', pid: victim });
await node.ask(watcher, { type: 'monitor', pid: counter });
const mainDown = new Promise<DownNotice>((resolve) => node.monitor(counter, resolve));
node.exit(victim, 'boom');
node.exit(counter, 'stop-now');
report.mainDown = (await mainDown).reason;
report.seen = await eventually(
  () => node.ask<Seen>(watcher, { type: 'seen' }),
  (seen) => seen.exits.length > 0 && seen.downs.length > 0,
);
report.nameFreed = node.whereis('the-counter') === undefined;

const spec: SupervisorSpec = { strategy: 'one_for_one', intensity: 5, periodMs: 10_000, children: [{ id: 'worker', kind: 'counter', args: { start: 10 } }] };
const supervisor = await node.spawn<WhichChildren>(SUPERVISOR_KIND, spec);
const [first] = await node.ask<ChildInfo[]>(supervisor, { type: 'which_children' });
node.exit(first!.pid as Pid, 'crash');
const [restarted] = await eventually(
  () => node.ask<ChildInfo[]>(supervisor, { type: 'which_children' }),
  ([child]) => child?.restarts === 1 && child.pid !== undefined,
);
report.supervisor = {
  restarts: restarted?.restarts,
  newPid: restarted?.pid !== undefined && !samePid(restarted.pid, first!.pid as Pid),
  restartedState: await node.ask<number>(restarted!.pid as Pid<CounterMsg>, { type: 'get' }),
};

const ticker = await node.spawn<TimerMsg>('ticker');
report.timers = await node.ask(ticker, { type: 'start', ms: 10 }, { timeoutMs: 10_000 });

const files = await node.spawn<FilesMsg>('files');
report.files = await node.ask<FilesReport>(files, { type: 'run' }, { timeoutMs: 20_000 });

const sink = await node.spawn<PointSinkMsg>('point-sink', undefined, { shard: 0 });
node.send(sink, typed(POINT, { x: 3, y: -4 }));
report.typed = await node.ask(sink, { type: 'last' });

try {
  await node.spawn('no-such-kind');
  report.unknownKind = 'spawned';
} catch (error) {
  report.unknownKind = error instanceof HordeError && error.code === ErrorCode.UNKNOWN_KIND ? error.code : String(error);
}

const status: NodeStatus = await node.status();
report.status = { executors: status.executors.length, crashes: status.processCrashes >= 0 };

await node.stop();
await rm(dataDir, { recursive: true, force: true });
console.log(JSON.stringify(report));
