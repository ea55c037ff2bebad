import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pid, type Pid } from '../../src/process/pid.js';
import { mailboxBase, mailboxClear, mailboxDrop, mailboxFrom, mailboxMessage, mailboxPush, mailboxRef, newMailbox, type Mailbox } from '../../src/executor/mailbox.js';
import { Queue } from '../../src/internal/queue.js';
import { SignalQueue } from '../../src/executor/signal-queue.js';

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
  const base = mailboxBase(mailbox);
  const triple: [unknown, Pid | undefined, number] = [mailboxMessage(mailbox, base), mailboxFrom(mailbox, base), mailboxRef(mailbox, base)];
  mailboxDrop(mailbox);
  return triple;
}

describe('Mailbox', () => {
  it('behaves like an array of (message, from, ref) under any mix of push, take and clear', () => {
    fc.assert(
      fc.property(fc.array(mailboxOp, { maxLength: 200 }), (ops) => {
        const mailbox = newMailbox();
        const model: [unknown, Pid | undefined, number][] = [];
        for (const step of ops) {
          if (step.op === 'push') {
            mailboxPush(mailbox, step.message, step.from, step.ref);
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
            mailboxClear(mailbox);
            model.length = 0;
          }
          expect(mailbox.count).toBe(model.length);
        }
        // Drain what is left, in order.
        while (model.length > 0) expect(take(mailbox)[2]).toBe(model.shift()![2]);
        expect(mailbox.count).toBe(0);
      }),
      RUNS,
    );
  });

  it('keeps order when it grows while wrapped around', () => {
    const mailbox = newMailbox();
    const from = pid(0, 1, 7);
    let next = 0;
    let expected = 0;
    // Shift the head around the ring several times, growing at a different head position each time.
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < round * 3; i++) {
        mailboxPush(mailbox, `m${next}`, next % 2 === 0 ? from : undefined, next);
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
    expect(mailbox.count).toBe(next - expected);
    while (mailbox.count > 0) expect(take(mailbox)[0]).toBe(`m${expected++}`);
    expect(expected).toBe(next);
  });

  it('holds many messages (power-of-two growth) and gives them back in order', () => {
    const mailbox = newMailbox();
    for (let i = 0; i < 10_000; i++) mailboxPush(mailbox, i, undefined, i);
    expect(mailbox.count).toBe(10_000);
    for (let i = 0; i < 10_000; i++) expect(take(mailbox)[0]).toBe(i);
    expect(mailbox.count).toBe(0);
  });

  it('drops its references to handled messages and senders', () => {
    const mailbox = newMailbox();
    const big = { payload: 'x'.repeat(10) };
    const sender = pid(0, 0, 1);
    mailboxPush(mailbox, big, sender, 1);
    mailboxPush(mailbox, 'small', undefined, 2);
    take(mailbox);
    const slots = mailbox.slots;
    expect(slots).not.toContain(big);
    expect(slots).not.toContain(sender);
    mailboxClear(mailbox);
    expect(mailbox.count).toBe(0);
    mailboxPush(mailbox, 'again', undefined, 3);
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

type SignalRecord = [number, Pid, Pid | undefined, number, unknown, string | undefined];

function takeSignal(queue: SignalQueue): SignalRecord {
  const base = queue.peekBase();
  const record: SignalRecord = [queue.signal(base), queue.to(base), queue.from(base), queue.ref(base), queue.payload(base), queue.kind(base)];
  queue.drop();
  return record;
}

describe('SignalQueue', () => {
  it('gives records back in order, with every field, under any mix of bursts and drains', () => {
    const to = pid(0, 1, 2);
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: -20, max: -1 })), { maxLength: 100 }), (steps) => {
        const queue = new SignalQueue();
        const model: SignalRecord[] = [];
        let next = 0;
        for (const step of steps) {
          if (step > 0) {
            for (let i = 0; i < step; i++, next++) {
              const record: SignalRecord = [next % 13, to, next % 3 === 0 ? undefined : pid(0, 0, next), next, { n: next }, next % 5 === 0 ? `kind${next}` : undefined];
              queue.push(...record);
              model.push(record);
            }
          } else {
            for (let i = 0; i < -step && model.length > 0; i++) expect(takeSignal(queue)).toEqual(model.shift());
          }
          expect(queue.size).toBe(model.length);
        }
        while (model.length > 0) expect(takeSignal(queue)).toEqual(model.shift());
      }),
      RUNS,
    );
  });

  it('drops references to handled records, and shrinks back after a burst', () => {
    const queue = new SignalQueue();
    const payload = { big: 'x'.repeat(100) };
    for (let i = 0; i < 70_000; i++) queue.push(1, pid(0, 0, i), undefined, i, payload, 'k');
    let misplaced = 0;
    for (let i = 0; i < 70_000; i++) if (takeSignal(queue)[3] !== i) misplaced++;
    expect(misplaced).toBe(0);
    const items = (queue as unknown as { items: unknown[] }).items;
    expect(items.length).toBeLessThan(1_000);
    expect(items).not.toContain(payload);
    queue.push(2, pid(0, 0, 1), undefined, 0, payload, undefined);
    takeSignal(queue);
    expect((queue as unknown as { items: unknown[] }).items).not.toContain(payload);
  });
});
