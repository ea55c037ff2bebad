// Timers and io under the TestKit: the simulated clock drives the same wheel as the poller.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { IoRequest } from '../../src/process/io.js';
import { TestKit } from '../../src/testkit/testkit.js';
import { behaviours, type TimerClientMsg } from '../fixtures/behaviours.js';

describe('TestKit timers', () => {
  it('fires a timer exactly when the simulated clock reaches it, ahead of queued messages', () => {
    const kit = new TestKit({ behaviours, shards: 2, seed: 7 });
    const client = kit.spawn<TimerClientMsg>('timer-client', undefined, { shard: 1 });
    kit.ask(client, { type: 'start', ms: 50 });
    kit.advance(49);
    kit.run();
    expect(kit.ask(client, { type: 'report' })).toEqual([]);
    kit.advance(1);
    kit.run();
    expect(kit.ask(client, { type: 'report' })).toEqual([50]);
    expect(kit.pendingTimers).toBe(0);
  });

  it('repeats until cancelled, and drops the timers of a process that ends', () => {
    const kit = new TestKit({ behaviours, shards: 1, seed: 3 });
    const client = kit.spawn<TimerClientMsg>('timer-client');
    kit.ask(client, { type: 'start', ms: 10, repeat: true });
    for (let i = 0; i < 5; i++) {
      kit.advance(10);
      kit.run();
    }
    expect(kit.ask(client, { type: 'report' })).toEqual([10, 20, 30, 40, 50]);
    kit.ask(client, { type: 'cancel' });
    kit.advance(100);
    kit.run();
    expect(kit.ask<number[]>(client, { type: 'report' })).toHaveLength(5);

    kit.ask(client, { type: 'start', ms: 1000, repeat: true });
    expect(kit.pendingTimers).toBe(1);
    kit.stop(client, 'kill');
    kit.run();
    expect(kit.pendingTimers).toBe(0);
  });

  it('answers ctx.io through the io option, and with HORDE_NO_DATA_DIR without one', () => {
    const kit = new TestKit({ behaviours, shards: 1, io: (request) => ({ ok: true, value: `did ${request.op}` }) });
    const client = kit.spawn<IoRequest>('io-client');
    expect(kit.ask(client, { op: 'stat', path: 'x' })).toMatchObject({ ok: true, value: 'did stat' });
    const bare = new TestKit({ behaviours, shards: 1 });
    const other = bare.spawn<IoRequest>('io-client');
    expect(bare.ask(other, { op: 'read', path: 'x' })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_DATA_DIR } });
  });
});
