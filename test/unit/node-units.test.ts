// The node's units without threads: the main thread's participant driven through a fake MainHost
// (as a simulator would), and the watchdog on a fake clock.
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { Signal, type Envelope } from '../../src/codec/envelope.js';
import { MAIN_SHARD, pid, type Pid } from '../../src/process/pid.js';
import { MainParticipant, type HostTimer, type MainHost } from '../../src/node/main-participant.js';
import { Watchdog, type Heartbeat, type LongReceive, type WatchdogClock } from '../../src/node/watchdog.js';

/** A host whose rings are arrays, whose clock and timers move only when the test says. */
class FakeHost implements MainHost {
  readonly nodeId = 2;
  readonly executors = 2;
  readonly maxMessageBytes = 1 << 20;
  readonly sent: { index: number; envelope: Envelope }[] = [];
  readonly timers: { at: number; fire: () => void; cancelled: boolean }[] = [];
  readonly deferred: (() => void)[] = [];
  time = 1000;
  dead = 0;
  refuse = false;
  now(): number {
    return this.time;
  }
  startTimer(ms: number, fire: () => void): HostTimer {
    const timer = { at: this.time + ms, fire, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }
  defer(task: () => void): void {
    this.deferred.push(task);
  }
  send(index: number, envelope: Envelope): boolean {
    if (this.refuse) return false;
    this.sent.push({ index, envelope });
    return true;
  }
  clustered(): boolean {
    return false;
  }
  forward(): void {
    throw new Error('not clustered');
  }
  nodeCongested(): boolean {
    return false;
  }
  deadLetters(count: number): void {
    this.dead += count;
  }
  running(): boolean {
    return true;
  }
  advance(ms: number): void {
    this.time += ms;
    for (const timer of this.timers) if (!timer.cancelled && timer.at <= this.time) timer.fire();
  }
}

describe('MainParticipant behind a fake host', () => {
  it('asks: a MONITOR then the message on the same ring; the reply settles it and demonitors', async () => {
    const host = new FakeHost();
    const main = new MainParticipant(host);
    expect(main.self).toMatchObject({ node: 2, shard: MAIN_SHARD });
    const target = pid(2, 1, 5);
    const answer = main.ask<string>(target, 'hello', 100);
    expect(host.sent.map(({ index, envelope }) => [index, envelope.signal])).toEqual([
      [1, Signal.MONITOR],
      [1, Signal.USER],
    ]);
    const ref = host.sent[1]!.envelope.ref;
    main.onEnvelope({ signal: Signal.USER, to: main.self, from: target, ref, payload: 'hi' });
    await expect(answer).resolves.toBe('hi');
    expect(host.sent.at(-1)!.envelope).toMatchObject({ signal: Signal.DEMONITOR, to: target, ref });
    expect(main.pendingAsks).toBe(0);
    expect(host.timers[0]!.cancelled).toBe(true);
  });

  it('rejects an ask with HORDE_TIMEOUT when the host timer fires, and with NOPROC on a DOWN', async () => {
    const host = new FakeHost();
    const main = new MainParticipant(host);
    const target = pid(2, 0, 9);
    const late = main.ask(target, 'x', 50);
    host.advance(50);
    await expect(late).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    const gone = main.ask(target, 'y', 50);
    const ref = host.sent.at(-1)!.envelope.ref;
    main.onEnvelope({ signal: Signal.DOWN, to: main.self, from: target, ref, payload: 'noproc' });
    await expect(gone).rejects.toMatchObject({ code: ErrorCode.NOPROC });
  });

  it('fires monitors and asks on a lost shard, and only on this node', async () => {
    const host = new FakeHost();
    const main = new MainParticipant(host);
    const notices: unknown[] = [];
    main.monitor(pid(2, 1, 3), (notice) => notices.push(notice));
    main.monitor(pid(2, 0, 3), (notice) => notices.push(notice));
    const ask = main.ask(pid(2, 1, 4), 'q', 1000);
    main.shardLost(1, 'executor_crashed');
    expect(notices).toEqual([{ pid: pid(2, 1, 3), reason: 'executor_crashed' }]);
    await expect(ask).rejects.toBeInstanceOf(HordeError);
    expect(main.monitorCount).toBe(1);
  });

  it('answers a monitor on a pid nobody holds with a deferred noproc DOWN, and counts refused housekeeping as dead letters', () => {
    const host = new FakeHost();
    const main = new MainParticipant(host);
    const notices: unknown[] = [];
    const elsewhere: Pid = pid(7, 0, 1);
    main.monitor(elsewhere, (notice) => notices.push(notice));
    expect(notices).toEqual([]);
    for (const task of host.deferred.splice(0)) task();
    expect(notices).toEqual([{ pid: elsewhere, reason: 'noproc' }]);
    host.refuse = true;
    expect(() => main.post(Signal.USER, pid(2, 0, 1), 0, 'm')).toThrow(expect.objectContaining({ code: ErrorCode.OVERLOADED }) as Error);
    main.postQuietly(Signal.DEMONITOR, pid(2, 0, 1), 1, undefined);
    expect(host.dead).toBe(1);
  });
});

describe('Watchdog on a fake clock', () => {
  it('reports a receive whose heartbeat has not moved for longReceiveMs, once', () => {
    let time = 0;
    let check: () => void = () => undefined;
    let stopped = false;
    const clock: WatchdogClock = {
      now: () => time,
      every: (ms, tick) => {
        expect(ms).toBe(50);
        check = tick;
        return () => (stopped = true);
      },
    };
    const beats: Heartbeat[] = [
      { turns: 1, serial: 4, kind: 'slow' },
      { turns: 1, serial: -1, kind: undefined },
    ];
    const reports: LongReceive[] = [];
    const watchdog = new Watchdog(clock, 5, 100, () => beats.map((beat) => ({ ...beat })), (receive) => reports.push(receive));
    for (; time <= 300; time += 50) check();
    expect(reports).toEqual([{ pid: pid(5, 0, 4), kind: 'slow', runningMs: 100 }]);
    expect(watchdog.longReceives).toBe(1);
    // The turn moves on: a new stall is timed from there.
    beats[0] = { turns: 2, serial: 4, kind: 'slow' };
    check();
    expect(reports).toHaveLength(1);
    watchdog.stop();
    expect(stopped).toBe(true);
  });
});
