// The TestKit as one node of many: pids of its `nodeId`, channels with production's capacity and
// overflow (back pressure under the kit), and a trace hash that a seed replays.
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError, MAIN_SHARD, Signal, TestKit, defineBehaviours, type Context, type Pid, type Process, type SystemMessage } from '../../src/index.js';

type SinkMsg = { seq: number } | { get: true };
type FloodMsg = { to: Pid<SinkMsg>; count: number; perReceive: number } | 'next';
type PingMsg = { peer: Pid<PingMsg>; left: number; report: Pid } | { left: number; report: Pid };

/** Collects the sequence numbers it gets, in order; `{get}` answers with them. */
class Sink implements Process<SinkMsg> {
  readonly seen: number[] = [];
  receive(msg: SinkMsg | SystemMessage, ctx: Context<SinkMsg>): void {
    if (typeof msg !== 'object' || msg === null) return;
    if ('seq' in msg) this.seen.push(msg.seq);
    else if ('get' in msg) ctx.reply([...this.seen]);
  }
}

/** Sends `count` numbered messages to `to`, `perReceive` per receive, continuing with a message to itself. */
class Flooder implements Process<FloodMsg> {
  private to: Pid<SinkMsg> | undefined;
  private next = 0;
  private count = 0;
  private perReceive = 1;
  receive(msg: FloodMsg | SystemMessage, ctx: Context<FloodMsg>): void {
    if (typeof msg === 'object' && msg !== null && 'to' in msg) {
      this.to = msg.to;
      this.count = msg.count;
      this.perReceive = msg.perReceive;
    } else if (msg !== 'next') {
      return;
    }
    for (let i = 0; i < this.perReceive && this.next < this.count; i++) ctx.send(this.to!, { seq: this.next++ });
    if (this.next < this.count) ctx.send(ctx.self, 'next');
  }
}

/** Bounces a counter with its peer until it runs out, then tells `report`. */
class Pinger implements Process<PingMsg> {
  receive(msg: PingMsg | SystemMessage, ctx: Context<PingMsg>): void {
    if (typeof msg !== 'object' || msg === null || !('left' in msg)) return;
    const peer = 'peer' in msg ? msg.peer : (ctx.from as Pid<PingMsg>);
    if (msg.left === 0) ctx.send(msg.report, ctx.self);
    else ctx.send(peer, { left: msg.left - 1, report: msg.report });
  }
}

const behaviours = defineBehaviours({
  sink: () => new Sink(),
  flooder: () => new Flooder(),
  pinger: () => new Pinger(),
});

describe('TestKit nodeId', () => {
  it('makes pids of its node and routes between its shards, probes and services', () => {
    const kit = new TestKit({ behaviours, shards: 3, nodeId: 3, seed: 5 });
    expect(kit.nodeId).toBe(3);
    expect(kit.self).toMatchObject({ node: 3, shard: MAIN_SHARD });
    const sinks = [0, 1, 2].map((shard) => kit.spawn<SinkMsg>('sink', undefined, { shard }));
    for (const [shard, sink] of sinks.entries()) expect(sink).toMatchObject({ node: 3, shard });
    const probe = kit.probe();
    expect(probe.pid.node).toBe(3);

    const a = kit.spawn<PingMsg>('pinger', undefined, { shard: 0 });
    const b = kit.spawn<PingMsg>('pinger', undefined, { shard: 2 });
    kit.send(a, { peer: b, left: 25, report: probe.pid });
    kit.run();
    expect(probe.messages).toHaveLength(1);
    expect(probe.messages[0]!.payload).toMatchObject({ node: 3 });

    for (const sink of sinks) kit.send(sink, { seq: 7 });
    expect(sinks.map((sink) => kit.ask<number[]>(sink, { get: true }))).toEqual([[7], [7], [7]]);
    // A monitor from a probe of node 3 on a process of node 3 that ends.
    kit.monitor(probe, sinks[1]!);
    kit.stop(sinks[1]!, 'kill');
    kit.run();
    expect(probe.messages.at(-1)).toMatchObject({ signal: Signal.DOWN, from: sinks[1], payload: 'killed' });
    expect(kit.crashes.map((crash) => crash.pid)).toEqual([sinks[1]]);
    expect(kit.deadLetters).toEqual([]);
  });

  it('answers a monitor on another node as a standalone node does: noconnection', () => {
    const kit = new TestKit({ behaviours, nodeId: 3 });
    const probe = kit.probe();
    const elsewhere = { node: 4, shard: 0, serial: 1 } as Pid;
    kit.monitor(probe, elsewhere);
    kit.run();
    expect(probe.messages).toMatchObject([{ signal: Signal.DOWN, from: elsewhere, payload: 'noconnection' }]);
  });

  it('refuses a nodeId that is not a non-negative integer', () => {
    expect(() => new TestKit({ behaviours, nodeId: -1 })).toThrow(HordeError);
    expect(() => new TestKit({ behaviours, channelCapacity: 0 })).toThrow(HordeError);
  });
});

describe('TestKit back pressure', () => {
  /** Runs step by step, recording the most the flooder's shard had parked and the channel's overflow held. */
  function flood(options: { channelCapacity: number; overflowLimit?: number; count: number; perReceive: number; seed: number }) {
    const kit = new TestKit({ behaviours, shards: 2, seed: options.seed, channelCapacity: options.channelCapacity, ...(options.overflowLimit === undefined ? {} : { overflowLimit: options.overflowLimit }) });
    const sink = kit.spawn<SinkMsg>('sink', undefined, { shard: 1 });
    const flooder = kit.spawn<FloodMsg>('flooder', undefined, { shard: 0 });
    kit.send(flooder, { to: sink, count: options.count, perReceive: options.perReceive });
    let mostParked = 0;
    let mostOverflow = 0;
    let mostInChannel = 0;
    while (kit.step()) {
      mostParked = Math.max(mostParked, kit.shards[0]!.stats().blockedProcesses);
      const channel = kit.channelSizes()['0.0>0.1'];
      if (channel !== undefined) {
        mostOverflow = Math.max(mostOverflow, channel.overflow);
        mostInChannel = Math.max(mostInChannel, channel.ring);
      }
    }
    return { kit, seen: kit.ask<number[]>(sink, { get: true }), mostParked, mostOverflow, mostInChannel };
  }

  it('parks a sender on a full channel, as an executor on a full ring, and delivers everything in order', () => {
    for (const seed of [1, 2, 3]) {
      const run = flood({ channelCapacity: 8, count: 500, perReceive: 1, seed });
      expect(run.seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
      // The sender was parked, its envelopes waited in the overflow, and the channel never held more than its capacity.
      expect(run.mostParked).toBe(1);
      expect(run.mostOverflow).toBeGreaterThan(0);
      expect(run.mostInChannel).toBeLessThanOrEqual(8);
      expect(run.kit.deadLetters).toEqual([]);
      expect(run.kit.shards[0]!.stats().blockedProcesses).toBe(0);
    }
  });

  it('refuses past the overflow limit (dead letters) and keeps the order of what it delivers', () => {
    const run = flood({ channelCapacity: 4, overflowLimit: 6, count: 100, perReceive: 50, seed: 9 });
    expect(run.kit.deadLetters.length).toBeGreaterThan(0);
    expect(run.seen.length + run.kit.deadLetters.length).toBe(100);
    for (let i = 1; i < run.seen.length; i++) expect(run.seen[i]!).toBeGreaterThan(run.seen[i - 1]!);
    expect(run.mostOverflow).toBeLessThanOrEqual(6);
  });

  it('refuses a probe send into a full channel and overflow with HORDE_OVERLOADED, as node.send', () => {
    const kit = new TestKit({ behaviours, shards: 1, channelCapacity: 2, overflowLimit: 2 });
    const sink = kit.spawn<SinkMsg>('sink');
    for (let seq = 0; seq < 4; seq++) kit.send(sink, { seq });
    let refused: unknown;
    try {
      kit.send(sink, { seq: 4 });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HordeError);
    expect((refused as HordeError).code).toBe(ErrorCode.OVERLOADED);
    kit.run();
    expect(kit.ask<number[]>(sink, { get: true })).toEqual([0, 1, 2, 3]);
  });
});

describe('TestKit trace hash', () => {
  function hashOf(seed: number): string {
    const kit = new TestKit({ behaviours, shards: 3, seed, channelCapacity: 16 });
    const probe = kit.probe();
    const sinks = [0, 1, 2].map((shard) => kit.spawn<SinkMsg>('sink', undefined, { shard }));
    for (const [shard, sink] of sinks.entries()) {
      const flooder = kit.spawn<FloodMsg>('flooder', undefined, { shard: (shard + 1) % 3 });
      kit.send(flooder, { to: sink, count: 60, perReceive: 3 });
    }
    const a = kit.spawn<PingMsg>('pinger', undefined, { shard: 0 });
    const b = kit.spawn<PingMsg>('pinger', undefined, { shard: 1 });
    kit.send(a, { peer: b, left: 30, report: probe.pid });
    kit.run();
    return kit.traceHash();
  }

  it('is the same for two runs of one seed and differs for another seed', () => {
    const first = hashOf(11);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf(11)).toBe(first);
    expect(hashOf(12)).not.toBe(first);
  });

  it('starts the same for every kit and moves with each step', () => {
    const kit = new TestKit({ behaviours });
    const empty = kit.traceHash();
    expect(new TestKit({ behaviours, seed: 99 }).traceHash()).toBe(empty);
    kit.send(kit.spawn<SinkMsg>('sink'), { seq: 1 });
    kit.run();
    expect(kit.traceHash()).not.toBe(empty);
  });
});
