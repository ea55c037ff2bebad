// The TestKit of the installed package: the application's kinds on one thread, deterministically,
// with simulated time and simulated file answers. Prints one JSON report.
import { Signal, TestKit, type IoReply, type IoRequest, type TestKitOptions } from 'horde';
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

const first = run(7);
console.log(JSON.stringify({ ...first, sameRunSameSeed: JSON.stringify(run(7)) === JSON.stringify(first) }));
