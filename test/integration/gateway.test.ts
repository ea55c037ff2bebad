// The gateway in front of a real node: sockets, executor threads, canaries on the poller's ticks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import type { HordeError } from '../../src/errors.js';
import { ErrorCode } from '../../src/errors.js';
import { startNode, type HordeNode } from '../../src/node/node.js';
import { FrameDecoder } from '../../src/net/framing.js';
import { connect, type GatewayClient } from '../../src/gateway/client.js';
import { Gateway, startGateway, type GatewayOptions, type ThrottleEvent } from '../../src/gateway/gateway.js';
import { decodeRequest, decodeServerMessage, encodeJson, encodeRequest, encodeServerMessage, type ServerMessage } from '../../src/gateway/protocol.js';
import { rejectsWithCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/gateway-behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const listen = { host: '127.0.0.1', port: 0 };

let node: HordeNode;
const crashes: { kind: string }[] = [];
const gateways: Gateway[] = [];
const clients: GatewayClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  node = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2 });
  node.on('processCrashed', (crash: { kind: string }) => crashes.push(crash));
  node.register('echo', await node.spawn('echo', undefined, { shard: 0 }));
  node.register('echo1', await node.spawn('echo', undefined, { shard: 1 }));
  node.register('tool', await node.spawn('tool', undefined, { shard: 1 }));
  node.register('slow', await node.spawn('expensive', { costMs: 300 }, { shard: 1 }));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

afterAll(async () => {
  await node.stop();
});

/** A gateway; throttling is off unless a test turns it on (a loaded machine must not shed these tests' requests). */
async function gateway(options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  const started = await startGateway(node, { listen, throttle: false, ...options });
  gateways.push(started);
  return started;
}

async function client(gw: Gateway | { port: number; address: string }, options: Parameters<typeof connect>[1] = {}): Promise<GatewayClient> {
  const started = await connect(gw instanceof Gateway ? gw.address : { host: gw.address, port: gw.port }, options);
  clients.push(started);
  return started;
}

/** Polls `check` every 20 ms until it holds; fails after `ms`. */
async function eventually(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw TCP connection to the gateway that records every frame it gets until the gateway closes it. */
async function rawConnection(gw: Gateway): Promise<{ socket: Socket; messages: ServerMessage[]; closed: Promise<void> }> {
  const socket = netConnect(gw.address.port, gw.address.host);
  sockets.push(socket);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const messages: ServerMessage[] = [];
  const decoder = new FrameDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => messages.push(decodeServerMessage(frame))));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, messages, closed };
}

describe('gateway', () => {
  it('routes many pipelined requests on many connections back to the right connection', async () => {
    const gw = await gateway();
    const connections = await Promise.all(Array.from({ length: 8 }, () => client(gw)));
    const perConnection = 300;
    const results = await Promise.all(
      connections.map((c, connectionIndex) =>
        Promise.all(
          Array.from({ length: perConnection }, (_, i) =>
            c.request<{ c: number; i: number }>(i % 2 === 0 ? 'echo' : 'echo1', { c: connectionIndex, i }, { timeoutMs: 30_000 }),
          ),
        ),
      ),
    );
    results.forEach((replies, connectionIndex) => {
      expect(replies).toEqual(Array.from({ length: perConnection }, (_, i) => ({ c: connectionIndex, i })));
    });
    for (const c of connections) expect(c.outstanding).toBe(0);
    const status = gw.status();
    expect(status).toMatchObject({ admitted: 8 * perConnection, completed: 8 * perConnection, failed: 0, shed: 0, inFlight: 0, connections: 8 });
    expect(status.requestP99Ms).toBeGreaterThan(0);
    expect(status.canaryP99Ms).toBeGreaterThan(0);
  });

  it('answers an unknown service, a crash, silence and unsendable replies with their codes, and keeps serving', async () => {
    const gw = await gateway({ maxFrameBytes: 64 * 1024 });
    const c = await client(gw, { maxFrameBytes: 64 * 1024 });
    await rejectsWithCode(c.request('nobody', 1), ErrorCode.UNKNOWN_SERVICE);
    node.register('doomed', await node.spawn('tool', undefined, { shard: 1 }));
    const crash = await rejectsWithCode(c.request('doomed', { type: 'crash', why: 'on purpose' }), ErrorCode.REMOTE_ERROR);
    expect((crash.cause as HordeError).code).toBe(ErrorCode.NOPROC);
    expect(String((crash.cause as HordeError).message)).toContain('on purpose');
    expect(crashes).toEqual([expect.objectContaining({ kind: 'tool' })]);
    await rejectsWithCode(c.request('tool', { type: 'silent' }, { timeoutMs: 200 }), ErrorCode.TIMEOUT);
    await rejectsWithCode(c.request('tool', { type: 'bigint' }), ErrorCode.UNENCODABLE_MESSAGE);
    expect(await c.request('tool', { type: 'nothing' })).toBeUndefined();
    await rejectsWithCode(c.request('tool', { type: 'big', bytes: 100_000 }), ErrorCode.FRAME_TOO_LARGE);
    await rejectsWithCode(c.request('echo', 'x'.repeat(100_000)), ErrorCode.FRAME_TOO_LARGE); // refused by the client itself
    expect(await c.request('echo', 'still here')).toBe('still here');
    await eventually(() => gw.status().inFlight === 0);
    expect(gw.status()).toMatchObject({ rejected: 1, badFrames: 0, failed: 4, completed: 2 });
  });

  it('closes a connection that sends a malformed frame, with a reason, and counts it', async () => {
    const gw = await gateway();
    const raw = await rawConnection(gw);
    const good = encodeRequest({ id: 1, service: 'echo', payload: encodeJson('ok'), timeoutMs: 5_000 }, 1 << 20);
    raw.socket.write(good);
    await eventually(() => raw.messages.length === 1);
    raw.socket.write(new Uint8Array([0, 0, 0, 3, 0xff, 0xff, 0xff]));
    await raw.closed;
    expect(raw.messages[0]).toMatchObject({ reply: { id: 1 } });
    expect(raw.messages[1]).toEqual({ goodbye: expect.objectContaining({ code: ErrorCode.BAD_REQUEST }) as unknown });
    expect(gw.status().badFrames).toBe(1);
    await eventually(() => gw.status().connections === 0);
  });

  it('closes a connection that announces an oversize frame before reading it', async () => {
    const gw = await gateway({ maxFrameBytes: 4096 });
    const raw = await rawConnection(gw);
    raw.socket.write(new Uint8Array([0, 0, 0x10, 0x01])); // 4097 bytes announced, none sent
    await raw.closed;
    expect(raw.messages).toEqual([{ goodbye: expect.objectContaining({ code: ErrorCode.FRAME_TOO_LARGE }) as unknown }]);
    expect(gw.status().badFrames).toBe(1);
  });

  it('refuses connections past maxConnections when none is idle, and requests past maxOutstandingPerConnection', async () => {
    const gw = await gateway({ maxConnections: 2, maxOutstandingPerConnection: 3 });
    const a = await client(gw);
    const b = await client(gw);
    // Both connections have requests in flight (the service never answers): neither may be evicted.
    const replies = Promise.allSettled(Array.from({ length: 5 }, (_, i) => a.request('tool', { type: 'silent', i }, { timeoutMs: 3_000 })));
    const busy = b.request('tool', { type: 'silent' }, { timeoutMs: 3_000 }).catch((error: HordeError) => error.code);
    await eventually(() => gw.status().inFlight === 4);
    const third = await rawConnection(gw);
    await third.closed;
    expect(third.messages).toEqual([{ goodbye: expect.objectContaining({ code: ErrorCode.OVERLOADED }) as unknown }]);
    expect(gw.status()).toMatchObject({ refusedConnections: 1, evictedConnections: 0, connections: 2 });
    const codes = (await replies).map((reply) => (reply.status === 'rejected' ? (reply.reason as HordeError).code : 'ok'));
    expect(codes).toEqual([ErrorCode.TIMEOUT, ErrorCode.TIMEOUT, ErrorCode.TIMEOUT, ErrorCode.OVERLOADED, ErrorCode.OVERLOADED]);
    expect(await busy).toBe(ErrorCode.TIMEOUT);
    expect(gw.status().shed).toBe(2);
  });

  it('drops and counts a reply for a connection that closed while its request ran', async () => {
    const gw = await gateway();
    const c = await connect(gw.address);
    const pending = c.request('slow', 'late');
    await eventually(() => gw.status().inFlight === 1);
    await c.close();
    await rejectsWithCode(pending, ErrorCode.CONNECTION_CLOSED);
    await eventually(() => gw.status().droppedReplies === 1);
    expect(gw.status()).toMatchObject({ completed: 1, inFlight: 0, connections: 0 });
  });

  it('rejects outstanding requests with HORDE_CONNECTION_CLOSED and the reason when the gateway closes', async () => {
    const gw = await startGateway(node, { listen, throttle: false });
    const c = await client(gw);
    const pending = [1, 2].map(() => rejectsWithCode(c.request('tool', { type: 'silent' }, { timeoutMs: 30_000 }), ErrorCode.CONNECTION_CLOSED));
    await eventually(() => gw.status().inFlight === 2);
    await gw.close();
    for (const error of await Promise.all(pending)) expect(error.message).toContain('the gateway is closing');
    await rejectsWithCode(c.request('echo', 1), ErrorCode.CONNECTION_CLOSED);
  });
});

describe('gateway client', () => {
  it('connects by "host:port" and refuses bad input before sending it', async () => {
    const gw = await gateway();
    const c = await connect(`${gw.address.host}:${gw.address.port}`);
    clients.push(c);
    expect(await c.request('echo', [1, 'two'])).toEqual([1, 'two']);
    await rejectsWithCode(c.request('', 1), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(c.request('echo', 1, { timeoutMs: -1 }), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(c.request('echo', { n: 1n }), ErrorCode.UNENCODABLE_MESSAGE);
    await rejectsWithCode(connect('no port here'), ErrorCode.INVALID_OPTION);
    expect(gw.status().admitted).toBe(1);
  });

  it('counts a reply that comes after its request timed out, and closes on a frame it cannot decode', async () => {
    // A stand-in gateway: answers each request 300 ms late, then sends garbage.
    const server = createServer((socket) => {
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk: Buffer) =>
        decoder.push(chunk, (frame) => {
          const { id } = decodeRequest(frame);
          setTimeout(() => {
            socket.write(encodeServerMessage({ reply: { id, value: encodeJson('late') } }, 1 << 20));
            socket.write(new Uint8Array([0, 0, 0, 2, 0xff, 0xff]));
          }, 300);
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = await client(server.address() as AddressInfo);
      const timedOut = rejectsWithCode(c.request('any', 1, { timeoutMs: 50 }), ErrorCode.TIMEOUT);
      const cut = rejectsWithCode(c.request('any', 2, { timeoutMs: 30_000 }), ErrorCode.CONNECTION_CLOSED);
      await timedOut;
      const error = await cut; // the garbage after the late replies closes the connection
      expect((error.cause as HordeError).code).toBe(ErrorCode.BAD_REQUEST);
      expect(c.lateReplies).toBe(1);
      expect(c.outstanding).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a connection nobody accepts with HORDE_CONNECTION_CLOSED and its cause', async () => {
    const gw = await startGateway(node, { listen, throttle: false });
    const { port } = gw.address;
    await gw.close();
    const error = await rejectsWithCode(connect({ host: '127.0.0.1', port }), ErrorCode.CONNECTION_CLOSED);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});

describe('gateway throttling', () => {
  it('sheds pipelined requests with OVERLOADED, holds a simple client, and recovers', async () => {
    // The scheduler is fair between messages, so a canary on shard 0 waits for the request that is
    // running when it arrives: requests of 100 ms make it late by up to 100 ms (with 4 ms ones it
    // would be answered within a few ms, however long the backlog).
    const expensive = await node.spawn('expensive', { costMs: 100 }, { shard: 0 });
    node.register('expensive', expensive);
    try {
      const gw = await gateway({ throttle: true, highMarkMs: 60, lowMarkMs: 20, holdMs: 100, canaryPeriodMs: 10, pipelineAllowance: 3 });
      const changes: ThrottleEvent[] = [];
      gw.on('throttle', (change: ThrottleEvent) => changes.push(change));
      const piper = await client(gw);
      const simple = await client(gw);
      const modest = await client(gw); // pipelines two requests: still within the allowance of 3
      const waiting = [1, 2].map(() => modest.request('tool', { type: 'silent' }, { timeoutMs: 30_000 }).then(() => 'ok', (error: HordeError) => error.code));
      await eventually(() => gw.status().inFlight === 2);
      // About 2.4 s of work on shard 0.
      const flood = Array.from({ length: 24 }, (_, i) => piper.request('expensive', i, { timeoutMs: 60_000 }).then(() => 'ok', (error: HordeError) => error.code));
      await eventually(() => gw.status().throttled);
      expect(changes[0]).toMatchObject({ throttled: true });
      expect(changes[0]!.canaryMs).toBeGreaterThan(60);

      // While throttled: the pipelining client gets an explicit OVERLOADED for each extra request...
      const shedBefore = gw.status().shed;
      const extra = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => piper.request('echo', i)));
      expect(extra.map((r) => (r.status === 'rejected' ? (r.reason as HordeError).code : 'ok'))).toEqual(Array(20).fill(ErrorCode.OVERLOADED));
      expect(gw.status().shed).toBe(shedBefore + 20);
      // ...and a client with nothing outstanding is simply not served until admission resumes.
      let simpleDone = false;
      const held = simple.request('echo', 'patience', { timeoutMs: 60_000 }).finally(() => (simpleDone = true));
      // ...and a pipelining client within its allowance is read, but its request waits (held).
      let modestDone = false;
      const third = modest.request('echo', 'third', { timeoutMs: 60_000 }).finally(() => (modestDone = true));
      await eventually(() => gw.status().held === 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(gw.status().throttled).toBe(true);
      expect(simpleDone).toBe(false);
      expect(modestDone).toBe(false);

      await eventually(() => !gw.status().throttled, 60_000);
      expect(await held).toBe('patience');
      expect(await third).toBe('third');
      expect(gw.status().held).toBe(0);
      expect(changes[changes.length - 1]).toMatchObject({ throttled: false });
      expect(await piper.request('echo', 'after')).toBe('after');
      const outcomes = await Promise.all(flood);
      expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(0);
      expect(outcomes.every((o) => o === 'ok' || o === ErrorCode.OVERLOADED)).toBe(true);
      const status = gw.status();
      expect(status.throttleChanges).toBe(changes.length);
      expect(status.throttleChanges).toBeGreaterThanOrEqual(2);
      expect(status.admitted).toBe(status.completed + status.failed + status.inFlight);
      await modest.close();
      expect(await Promise.all(waiting)).toEqual([ErrorCode.CONNECTION_CLOSED, ErrorCode.CONNECTION_CLOSED]);
    } finally {
      node.unregister('expensive');
      node.exit(expensive, 'kill');
    }
  });

  it('stops shedding and releases waiting clients when throttling is switched off', async () => {
    // Requests of 100 ms: a canary waits for the one running (see the test above).
    const expensive = await node.spawn('expensive', { costMs: 100 }, { shard: 0 });
    node.register('expensive', expensive);
    try {
      const gw = await gateway({ throttle: true, highMarkMs: 60, lowMarkMs: 20, holdMs: 100 });
      const c = await client(gw);
      const simple = await client(gw);
      // Some of the flood may be shed if the throttle turns on while the gateway still reads it.
      const flood = Array.from({ length: 16 }, (_, i) => c.request('expensive', i, { timeoutMs: 60_000 }).then(() => 'ok', (error: HordeError) => error.code));
      await eventually(() => gw.status().throttled);
      let heldDone = false;
      const held = simple.request('echo', 'released', { timeoutMs: 60_000 }).finally(() => (heldDone = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(heldDone).toBe(false);
      expect(gw.status().throttled).toBe(true);
      gw.setThrottling(false);
      const { shed, throttleChanges } = gw.status();
      expect(gw.status().throttled).toBe(false);
      expect(await held).toBe('released');
      // The backlog is still there, but nothing is shed any more.
      const more = Array.from({ length: 20 }, (_, i) => c.request('echo', i, { timeoutMs: 60_000 }));
      expect(await Promise.all(more)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const outcomes = await Promise.all(flood);
      expect(outcomes.every((o) => o === 'ok' || o === ErrorCode.OVERLOADED)).toBe(true);
      expect(gw.status()).toMatchObject({ throttled: false, shed, throttleChanges, failed: 0 });
      // Canaries are still measured with throttling off. (How slow they were depends on when the
      // window's samples fell against the 100 ms requests: no bound on it here, it is timing.)
      expect(gw.status().canaryP99Ms).toBeGreaterThan(0);
    } finally {
      node.unregister('expensive');
      node.exit(expensive, 'kill');
    }
  });
});
