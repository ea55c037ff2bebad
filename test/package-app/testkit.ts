// The TestKit of the installed package: the application's kinds on one thread, deterministically,
// with simulated time and simulated file answers; and, from the `horde/testkit` subpath, a
// simulated two-node cluster whose history the linearizability checker judges. Prints one JSON
// report.
import { Signal, type IoReply, type IoRequest } from 'horde';
import { SimCluster, TestKit, checkLinearizable, type HistoryOperation, type TestKitOptions } from 'horde/testkit';
import { behaviours, type CounterMsg, type FilesMsg, type FilesReport, type TimerMsg } from './kinds.js';

const io = (request: IoRequest): IoReply =>
  request.op === 'compute' ? { ok: true, value: 42 } : { ok: false, error: { code: 'ENOENT', message: `simulated: no ${request.op}`, name: 'Error' } };

function run(seed: number): Record<string, unknown> {
  const options: TestKitOptions = { behaviours, seed, shards: 2, io };
  const kit = new TestKit(options);
  const counter = kit.spawn<CounterMsg>('counter', { start: 2 });
  kit.send(counter, { type: 'inc', by: 3 });
  const count = kit.ask<number>(counter, { type: 'get' });

  const probe = kit.probe();
  kit.monitor(probe, counter);
  kit.stop(counter, 'bye');
  kit.run();
  const down = probe.messages.find((m) => m.signal === Signal.DOWN);

  const ticker = kit.spawn<TimerMsg>('ticker');
  const timerProbe = kit.probe();
  kit.send(ticker, { type: 'start', ms: 10 }, timerProbe);
  kit.run();
  const pendingAfterStart = kit.pendingTimers;
  for (let i = 0; i < 3; i++) {
    kit.advance(10);
    kit.run();
  }

  const files = kit.ask<FilesReport>(kit.spawn<FilesMsg>('files'), { type: 'run' });
  return {
    count,
    down: down === undefined ? undefined : { payload: down.payload },
    pendingAfterStart,
    timers: timerProbe.messages.map((m) => m.payload),
    now: kit.now,
    files: { missing: files.missing, square: files.square },
    envelopes: kit.envelopes.length,
  };
}

/** Two simulated nodes: increments from both reach a counter on n2; each get is checked against a counter model. */
async function simulate(seed: number): Promise<{ count: number; linearizable: boolean | 'unknown'; hash: string }> {
  const cluster = await SimCluster.start({ behaviours, nodes: 2, seed });
  const counter = cluster.spawn<CounterMsg>(2, 'counter');
  const history: HistoryOperation<CounterMsg, number | undefined>[] = [];
  for (let i = 0; i < 6; i++) {
    const node = 1 + (i % 2);
    const inc: CounterMsg = { type: 'inc', by: 1 };
    const call = cluster.now;
    cluster.send(node, counter, inc);
    await cluster.runFor(5);
    history.push({ input: inc, call, return: cluster.now });
    const get: CounterMsg = { type: 'get' };
    const asked = cluster.now;
    const value = await cluster.ask<number>(node, counter, get);
    history.push({ input: get, call: asked, return: cluster.now, output: value });
  }
  const count = await cluster.ask<number>(1, counter, { type: 'get' });
  const hash = cluster.traceHash();
  await cluster.stop();
  const result = checkLinearizable(history, {
    init: () => 0,
    step: (state: number, input: CounterMsg, output: unknown) =>
      input.type === 'inc' ? { ok: true, state: state + input.by } : input.type === 'get' && output !== state ? { ok: false } : { ok: true, state },
  });
  return { count, linearizable: result.ok, hash };
}

const first = run(7);
const sim = await simulate(3);
console.log(
  JSON.stringify({
    ...first,
    sameRunSameSeed: JSON.stringify(run(7)) === JSON.stringify(first),
    sim: { count: sim.count, linearizable: sim.linearizable, sameRunSameSeed: (await simulate(3)).hash === sim.hash },
  }),
);
