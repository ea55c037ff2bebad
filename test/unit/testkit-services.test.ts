// A service thread lost and replaced, under the TestKit: what its dead thread held is answered or
// started again by the shards that asked for it (Shard.serviceLost), deterministically.
import { describe, expect, it } from 'vitest';
import { ErrorCode, TestKit } from '../../src/index.js';
import { Signal } from '../../src/codec/envelope.js';
import type { IoRequest } from '../../src/process/io.js';
import { behaviours, type TimerClientMsg } from '../fixtures/behaviours.js';

type IoAnswer = { ok: boolean; value: unknown; error?: { code: string } };

describe('TestKit: a lost file service', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`answers every request it held with HORDE_WORKER_EXITED, once; later requests are served (seed ${seed})`, () => {
      const kit = new TestKit({ behaviours, shards: 2, seed, io: (request) => ({ ok: true, value: request.op }) });
      const clients = [kit.spawn<IoRequest>('io-client', undefined, { shard: 0 }), kit.spawn<IoRequest>('io-client', undefined, { shard: 1 })];
      const probe = kit.probe();
      let ref = 100;
      for (const client of clients) for (let i = 0; i < 5; i++) kit.send(client, { op: 'stat', path: `f${i}` }, probe, ref++);
      // Lose the service part way: some requests are on their way to it, some answers on their
      // way back, some not sent yet.
      kit.runUntil(() => kit.envelopes.filter((e) => e.signal === Signal.IO).length >= 4);
      kit.crashService('fileio');
      kit.run();
      const answers = probe.messages.map((m) => ({ ref: m.ref, answer: m.payload as IoAnswer }));
      // Every request answered exactly once.
      expect(answers.map((a) => a.ref).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
      const lost = answers.filter((a) => !a.answer.ok);
      expect(lost.length).toBeGreaterThan(0);
      for (const { answer } of lost) expect(answer.error!.code).toBe(ErrorCode.WORKER_EXITED);
      for (const { answer } of answers.filter((a) => a.answer.ok)) expect(answer.value).toBe('stat');
      // The replacement serves what comes next.
      for (const client of clients) expect(kit.ask(client, { op: 'list', path: '.' })).toMatchObject({ ok: true, value: 'list' });
    });
  }

  it('answers an op no service serves at once with HORDE_INVALID_IO_REQUEST', () => {
    const kit = new TestKit({ behaviours, shards: 1, io: (request) => ({ ok: true, value: request.op }) });
    const client = kit.spawn<IoRequest>('io-client');
    const answer = kit.ask<IoAnswer>(client, { op: 'explode', path: 'x' });
    expect(answer).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_IO_REQUEST } });
    expect(kit.envelopes.some((e) => e.signal === Signal.IO)).toBe(false);
  });
});

describe('TestKit: a lost poller', () => {
  it('keeps every pending timer due when it was due, one-shot and repeating', () => {
    const kit = new TestKit({ behaviours, shards: 2, seed: 9 });
    const once = kit.spawn<TimerClientMsg>('timer-client', undefined, { shard: 0 });
    const every = kit.spawn<TimerClientMsg>('timer-client', undefined, { shard: 1 });
    kit.ask(once, { type: 'start', ms: 50 });
    kit.ask(every, { type: 'start', ms: 10, repeat: true });
    for (let i = 0; i < 5; i++) {
      kit.advance(5);
      kit.run();
    }
    expect(kit.ask(every, { type: 'report' })).toEqual([10, 20]);
    kit.crashService('poller');
    expect(kit.pendingTimers).toBe(0);
    kit.run();
    expect(kit.pendingTimers).toBe(2);
    for (let i = 0; i < 5; i++) {
      kit.advance(5);
      kit.run();
    }
    expect(kit.ask(once, { type: 'report' })).toEqual([50]);
    expect(kit.ask(every, { type: 'report' })).toEqual([10, 20, 30, 40, 50]);
  });

  it('fires at once a one-shot timer that came due while its poller was being replaced', () => {
    const kit = new TestKit({ behaviours, shards: 1 });
    const once = kit.spawn<TimerClientMsg>('timer-client');
    kit.ask(once, { type: 'start', ms: 30 });
    kit.advance(10);
    kit.crashService('poller');
    kit.advance(40);
    kit.run();
    kit.advance(0);
    kit.run();
    expect(kit.ask(once, { type: 'report' })).toEqual([50]);
  });

  it('does not start again a timer cancelled or fired before the loss', () => {
    const kit = new TestKit({ behaviours, shards: 1 });
    const fired = kit.spawn<TimerClientMsg>('timer-client');
    const cancelled = kit.spawn<TimerClientMsg>('timer-client');
    kit.ask(fired, { type: 'start', ms: 5 });
    kit.ask(cancelled, { type: 'start', ms: 100 });
    kit.ask(cancelled, { type: 'cancel' });
    kit.advance(5);
    kit.run();
    kit.crashService('poller');
    kit.run();
    expect(kit.pendingTimers).toBe(0);
    kit.advance(200);
    kit.run();
    expect(kit.ask(fired, { type: 'report' })).toEqual([5]);
    expect(kit.ask(cancelled, { type: 'report' })).toEqual([]);
  });
});
