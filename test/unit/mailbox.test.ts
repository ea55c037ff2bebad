import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pid, type Pid } from '../../src/process/pid.js';
import { Mailbox } from '../../src/executor/mailbox.js';
import { Queue } from '../../src/executor/queue.js';

// Fixed seeds: the property tests are deterministic (a failure prints its seed and path anyway).
const RUNS = { seed: 0x5eed, numRuns: 300 };

type MailboxOp = { op: 'push'; message: unknown; from: Pid | undefined; ref: number } | { op: 'take'; count: number } | { op: 'clear' };

const pidArb = fc.option(
  fc.record({ node: fc.nat(3), shard: fc.nat(3), serial: fc.nat(1_000) }).map(({ node, shard, serial }) => pid(node, shard, serial)),
  { nil: undefined },
);

const mailboxOp: fc.Arbitrary<MailboxOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), message: fc.anything(), from: pidArb, ref: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
);

/** Reads and drops the oldest triple, as the shard does. */
function take(mailbox: Mailbox): [unknown, Pid | undefined, number] {
  const base = mailbox.peekBase();
  const triple: [unknown, Pid | undefined, number] = [mailbox.message(base), mailbox.from(base), mailbox.ref(base)];
  mailbox.drop();
  return triple;
}

describe('Mailbox', () => {
  it('behaves like an array of (message, from, ref) under any mix of push, take and clear', () => {
    fc.assert(
      fc.property(fc.array(mailboxOp, { maxLength: 200 }), (ops) => {
        const mailbox = new Mailbox();
        const model: [unknown, Pid | undefined, number][] = [];
        for (const step of ops) {
          if (step.op === 'push') {
            mailbox.push(step.message, step.from, step.ref);
            model.push([step.message, step.from, step.ref]);
          } else if (step.op === 'take') {
            for (let i = 0; i < step.count && model.length > 0; i++) {
              const got = take(mailbox);
              const want = model.shift()!;
              expect(Object.is(got[0], want[0]) || got[0] === want[0]).toBe(true);
              expect(got[1]).toBe(want[1]);
              expect(got[2]).toBe(want[2]);
            }
          } else {
            mailbox.clear();
            model.length = 0;
          }
          expect(mailbox.size).toBe(model.length);
        }
        // Drain what is left, in order.
        while (model.length > 0) expect(take(mailbox)[2]).toBe(model.shift()![2]);
        expect(mailbox.size).toBe(0);
      }),
      RUNS,
    );
  });

  it('keeps order when it grows while wrapped around', () => {
    const mailbox = new Mailbox();
    const from = pid(0, 1, 7);
    let next = 0;
    let expected = 0;
    // Shift the head around the ring several times, growing at a different head position each time.
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < round * 3; i++) {
        mailbox.push(`m${next}`, next % 2 === 0 ? from : undefined, next);
        next++;
      }
      for (let i = 0; i < round * 2; i++) {
        const [message, sender, ref] = take(mailbox);
        expect(message).toBe(`m${expected}`);
        expect(ref).toBe(expected);
        expect(sender).toBe(ref % 2 === 0 ? from : undefined);
        expected++;
      }
    }
    expect(mailbox.size).toBe(next - expected);
    while (mailbox.size > 0) expect(take(mailbox)[0]).toBe(`m${expected++}`);
    expect(expected).toBe(next);
  });

  it('holds many messages (power-of-two growth) and gives them back in order', () => {
    const mailbox = new Mailbox();
    for (let i = 0; i < 10_000; i++) mailbox.push(i, undefined, i);
    expect(mailbox.size).toBe(10_000);
    for (let i = 0; i < 10_000; i++) expect(take(mailbox)[0]).toBe(i);
    expect(mailbox.size).toBe(0);
  });

  it('drops its references to handled messages and senders', () => {
    const mailbox = new Mailbox();
    const big = { payload: 'x'.repeat(10) };
    const sender = pid(0, 0, 1);
    mailbox.push(big, sender, 1);
    mailbox.push('small', undefined, 2);
    take(mailbox);
    const slots = (mailbox as unknown as { slots: unknown[] }).slots;
    expect(slots).not.toContain(big);
    expect(slots).not.toContain(sender);
    mailbox.clear();
    expect(mailbox.size).toBe(0);
    mailbox.push('again', undefined, 3);
    expect(take(mailbox)).toEqual(['again', undefined, 3]);
  });
});

type QueueOp = { op: 'push'; value: number | string | null } | { op: 'burst'; count: number } | { op: 'shift'; count: number } | { op: 'peek' };

const queueOp: fc.Arbitrary<QueueOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), value: fc.oneof(fc.integer(), fc.string(), fc.constant(null)) }) },
  // Bursts and short drains: the queue grows (initial capacity 16) at every head position.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('burst' as const), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('shift' as const), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'peek' as const }) },
);

describe('Queue', () => {
  it('behaves like an array under any mix of push, shift, peek and iteration', () => {
    fc.assert(
      fc.property(fc.array(queueOp, { maxLength: 300 }), (ops) => {
        const queue = new Queue<number | string | null>();
        const model: (number | string | null)[] = [];
        for (const step of ops) {
          if (step.op === 'push') {
            queue.push(step.value);
            model.push(step.value);
          } else if (step.op === 'burst') {
            for (let i = 0; i < step.count; i++) {
              const value = model.length;
              queue.push(value);
              model.push(value);
            }
          } else if (step.op === 'shift') {
            for (let i = 0; i < step.count; i++) expect(queue.shift()).toBe(model.length > 0 ? model.shift() : undefined);
          } else {
            expect(queue.peek()).toBe(model.length > 0 ? model[0] : undefined);
          }
          expect(queue.size).toBe(model.length);
          expect([...queue]).toEqual(model);
        }
      }),
      RUNS,
    );
  });

  it('grows past its initial capacity while wrapped around, keeping order', () => {
    const queue = new Queue<number>();
    for (let i = 0; i < 10; i++) queue.push(i);
    for (let i = 0; i < 8; i++) expect(queue.shift()).toBe(i);
    // head is now at 8 of 16: fill past the end of the array, then past capacity.
    for (let i = 10; i < 60; i++) queue.push(i);
    expect(queue.size).toBe(52);
    expect([...queue]).toEqual(Array.from({ length: 52 }, (_, i) => i + 8));
    for (let i = 8; i < 60; i++) expect(queue.shift()).toBe(i);
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
    expect(queue.size).toBe(0);
  });
});
