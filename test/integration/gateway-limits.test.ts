// The gateway's time limits and connection eviction (slowloris), against a real node, through the
// package's public exports; raw sockets play the hostile clients.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCode, connect, startGateway, startNode, type Gateway, type GatewayClient, type GatewayOptions, type HordeError, type HordeNode } from '../../src/index.js';
import { FrameDecoder } from '../../src/net/framing.js';
import { decodeServerMessage, encodeJson, encodeRequest, type ServerMessage } from '../../src/gateway/protocol.js';
import { rejectsWithCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/gateway-behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const listen = { host: '127.0.0.1', port: 0 };

let node: HordeNode;
const gateways: Gateway[] = [];
const clients: GatewayClient[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  node = await startNode({ behaviours: [behaviours], preload: [preload], executors: 1 });
  node.register('echo', await node.spawn('echo'));
  node.register('tool', await node.spawn('tool'));
  node.register('slow', await node.spawn('expensive', { costMs: 600 }));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

afterAll(async () => {
  await node.stop();
});

/** A gateway without throttling (a loaded machine must not shed these tests' requests). */
async function gateway(options: Partial<GatewayOptions>): Promise<Gateway> {
  const started = await startGateway(node, { listen, throttle: false, ...options });
  gateways.push(started);
  return started;
}

async function client(address: { host: string; port: number }): Promise<GatewayClient> {
  const started = await connect(address);
  clients.push(started);
  return started;
}

async function eventually(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Raw {
  socket: Socket;
  messages: ServerMessage[];
  closed: Promise<number>;
}

/** A raw TCP connection that records every frame it gets; `closed` resolves with the time it closed. */
async function raw(gw: Gateway): Promise<Raw> {
  const socket = netConnect(gw.address.port, gw.address.host);
  sockets.push(socket);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const messages: ServerMessage[] = [];
  const decoder = new FrameDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) => decoder.push(chunk, (frame) => messages.push(decodeServerMessage(frame))));
  socket.on('error', () => undefined); // a reset after the goodbye is expected
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return { socket, messages, closed };
}

function request(id: number, msg: unknown): Uint8Array {
  return encodeRequest({ id, service: 'echo', payload: encodeJson(msg), timeoutMs: 5_000 }, 1 << 20);
}

const goodbye = (code: string, idle?: true): unknown => (idle ? { goodbye: expect.objectContaining({ code }) as unknown, idle } : { goodbye: expect.objectContaining({ code }) as unknown });

describe('gateway time limits', () => {
  it('refuses limits that are not numbers of ms, naming the option', async () => {
    const bad: [Partial<GatewayOptions>, string][] = [
      [{ firstFrameTimeoutMs: 0 }, 'firstFrameTimeoutMs'],
      [{ firstFrameTimeoutMs: Infinity }, 'firstFrameTimeoutMs'],
      [{ frameTimeoutMs: -5 }, 'frameTimeoutMs'],
      [{ frameTimeoutMs: '10' as unknown as number }, 'frameTimeoutMs'],
      [{ idleTimeoutMs: -1 }, 'idleTimeoutMs'],
      [{ idleTimeoutMs: NaN }, 'idleTimeoutMs'],
      [{ idleTimeoutMs: 1e12 }, 'idleTimeoutMs'],
    ];
    for (const [options, name] of bad) {
      const error = await rejectsWithCode(startGateway(node, { listen, ...options }), ErrorCode.INVALID_OPTION);
      expect(error.message).toContain(`"${name}"`);
    }
    const unlimited = await gateway({ idleTimeoutMs: 0, firstFrameTimeoutMs: 1, frameTimeoutMs: 86_400_000 });
    expect(unlimited.status()).toMatchObject({ idleTimeouts: 0, firstFrameTimeouts: 0, frameTimeouts: 0, evictedConnections: 0 });
  });

  it('closes a silent connection and a half-sent length prefix after firstFrameTimeoutMs, and serves one in time', async () => {
    const gw = await gateway({ firstFrameTimeoutMs: 400 });
    const start = Date.now();
    const silent = await raw(gw);
    const half = await raw(gw);
    half.socket.write(new Uint8Array([0, 0]));
    const prompt = await raw(gw);
    prompt.socket.write(request(1, 'in time'));
    const [silentClosed, halfClosed] = await Promise.all([silent.closed, half.closed]);
    expect(silentClosed - start).toBeGreaterThanOrEqual(350);
    expect(halfClosed - start).toBeGreaterThanOrEqual(350);
    // Silence has nothing in flight: an idle goodbye (a client may reconnect); a started frame is not.
    expect(silent.messages).toEqual([goodbye(ErrorCode.TIMEOUT, true)]);
    expect(half.messages).toEqual([goodbye(ErrorCode.TIMEOUT)]);
    expect(prompt.messages).toEqual([{ reply: expect.objectContaining({ id: 1 }) as unknown }]);
    expect(gw.status()).toMatchObject({ firstFrameTimeouts: 2, frameTimeouts: 0, idleTimeouts: 0, connections: 1, completed: 1 });
  });

  it('closes a connection whose frame stops halfway, or trickles, after frameTimeoutMs from its first byte', async () => {
    const gw = await gateway({ frameTimeoutMs: 500, idleTimeoutMs: 0 });
    const stalled = await raw(gw);
    const trickle = await raw(gw);
    for (const connection of [stalled, trickle]) {
      connection.socket.write(request(1, 'first'));
      await eventually(() => connection.messages.length === 1);
    }
    const whole = request(2, 'x'.repeat(200));
    stalled.socket.write(whole.subarray(0, 100));
    // One byte every 20 ms: the frame would take over 4 s, and each byte must not move the deadline.
    const frameStart = Date.now();
    let sent = 0;
    const dripping = setInterval(() => {
      if (!trickle.socket.destroyed) trickle.socket.write(whole.subarray(sent, ++sent));
    }, 20);
    try {
      const trickleClosed = await trickle.closed;
      await stalled.closed;
      expect(trickleClosed - frameStart).toBeGreaterThanOrEqual(450);
      expect(sent).toBeLessThan(whole.length);
    } finally {
      clearInterval(dripping);
    }
    for (const connection of [stalled, trickle]) {
      expect(connection.messages).toEqual([{ reply: expect.objectContaining({ id: 1 }) as unknown }, goodbye(ErrorCode.TIMEOUT)]);
    }
    expect(gw.status()).toMatchObject({ frameTimeouts: 2, firstFrameTimeouts: 0, idleTimeouts: 0, connections: 0 });
  });

  it('closes an idle connection after idleTimeoutMs, never one with a request in flight; the client reconnects by itself', async () => {
    const gw = await gateway({ idleTimeoutMs: 300 });
    const c = await client(gw.address);
    // The service takes 600 ms, twice the idle limit: a request in flight is not idleness.
    expect(await c.request('slow', 'busy')).toBe('busy');
    expect(gw.status()).toMatchObject({ idleTimeouts: 0, connections: 1 });
    await eventually(() => gw.status().idleTimeouts === 1);
    expect(gw.status().connections).toBe(0);
    // The user does nothing: the next requests open a new connection.
    expect(await Promise.all([c.request('echo', 'again'), c.request('echo', 'and again')])).toEqual(['again', 'and again']);
    expect(gw.status()).toMatchObject({ connections: 1, completed: 3, failed: 0 });
    const idle = await raw(gw);
    idle.socket.write(request(1, 'once'));
    await idle.closed;
    expect(idle.messages).toEqual([{ reply: expect.objectContaining({ id: 1 }) as unknown }, goodbye(ErrorCode.CONNECTION_CLOSED, true)]);
  });
});

describe('gateway eviction', () => {
  it('evicts the connection idle the longest at maxConnections, silent ones first, and refuses when none is idle', async () => {
    const gw = await gateway({ maxConnections: 2 });
    const a = await client(gw.address);
    const b = await client(gw.address);
    expect(await a.request('echo', 'a1')).toBe('a1');
    expect(await b.request('echo', 'b1')).toBe('b1');
    expect(await a.request('echo', 'a2')).toBe('a2'); // b is now idle the longest
    const c = await client(gw.address);
    expect(await c.request('echo', 'c1')).toBe('c1');
    expect(gw.status()).toMatchObject({ evictedConnections: 1, refusedConnections: 0, connections: 2 });
    expect(await a.request('echo', 'a3')).toBe('a3'); // a was not the one evicted: no reconnection
    expect(gw.status().evictedConnections).toBe(1);
    expect(await b.request('echo', 'b2')).toBe('b2'); // b reconnects by itself, evicting c
    expect(gw.status()).toMatchObject({ evictedConnections: 2, connections: 2 });

    // A connection that never sent a byte goes before any connection that was served.
    const silent = await raw(gw); // evicts a (idle the longest)
    await eventually(() => gw.status().evictedConnections === 3);
    const d = await client(gw.address);
    await silent.closed;
    expect(silent.messages).toEqual([goodbye(ErrorCode.OVERLOADED, true)]);
    expect(await d.request('echo', 'd1')).toBe('d1');
    expect(await b.request('echo', 'b3')).toBe('b3'); // b kept its connection
    expect(gw.status()).toMatchObject({ evictedConnections: 4, connections: 2 });

    // Nothing idle: both connections have a request in flight. The next connection is refused.
    const waits = [b, d].map((x) => x.request('tool', { type: 'silent' }, { timeoutMs: 2_000 }).catch((error: HordeError) => error.code));
    await eventually(() => gw.status().inFlight === 2);
    const refused = await raw(gw);
    await refused.closed;
    expect(refused.messages).toEqual([goodbye(ErrorCode.OVERLOADED)]);
    expect(gw.status()).toMatchObject({ refusedConnections: 1, evictedConnections: 4, connections: 2 });
    expect(await Promise.all(waits)).toEqual([ErrorCode.TIMEOUT, ErrorCode.TIMEOUT]);
  });

  // firstFrameTimeoutMs is 3 s so that all 1,100 are open at once on a loaded machine (opening
  // them one at a time takes about 0.6 s on an idle one).
  it('serves a client at once while 1,100 silent connections are open', async () => {
    const firstFrameTimeoutMs = 3_000;
    const gw = await gateway({ firstFrameTimeoutMs });
    await openMany(gw, 1_100, undefined);
    await eventually(() => gw.status().evictedConnections === 76);
    expect(gw.status()).toMatchObject({ connections: 1_024, refusedConnections: 0, firstFrameTimeouts: 0 });
    const start = Date.now();
    const c = await client(gw.address);
    expect(await c.request('echo', 'served')).toBe('served');
    expect(Date.now() - start).toBeLessThan(firstFrameTimeoutMs + 1_000);
    // The oldest silent ones made room; the rest are closed by their first-frame limit.
    await eventually(() => gw.status().firstFrameTimeouts === 1_023);
    expect(gw.status()).toMatchObject({ evictedConnections: 77, refusedConnections: 0, connections: 1 });
  });

  it('serves a client within firstFrameTimeoutMs while 1,100 half-sent length prefixes hold every place', async () => {
    const firstFrameTimeoutMs = 3_000;
    const gw = await gateway({ firstFrameTimeoutMs });
    await openMany(gw, 1_100, new Uint8Array([0, 0]));
    // A connection whose two bytes were not read yet when a later one came was silent, and gave its
    // place (evicted); the others refused. Then every place holds a started frame.
    await eventually(() => gw.status().evictedConnections + gw.status().refusedConnections === 76);
    expect(gw.status().connections).toBe(1_024);
    await sleep(200);
    const refusedBefore = gw.status().refusedConnections;
    const start = Date.now();
    let attempts = 0;
    let served: unknown;
    while (served === undefined) {
      attempts++;
      try {
        const c = await client(gw.address);
        served = await c.request('echo', 'served', { timeoutMs: 10_000 });
      } catch (error) {
        expect((error as HordeError).code).toBe(ErrorCode.CONNECTION_CLOSED);
        expect(((error as HordeError).cause as HordeError).code).toBe(ErrorCode.OVERLOADED);
        await sleep(50);
      }
    }
    expect(served).toBe('served');
    expect(attempts).toBeGreaterThan(1); // locked out at first: none of the 1,024 was idle
    expect(gw.status().refusedConnections - refusedBefore).toBe(attempts - 1);
    // Generous for a loaded machine; the limit itself is firstFrameTimeoutMs plus one sweep.
    expect(Date.now() - start).toBeLessThan(firstFrameTimeoutMs + 3_000);
    const { evictedConnections, refusedConnections } = gw.status();
    await eventually(() => gw.status().firstFrameTimeouts === 1_100 - evictedConnections - refusedBefore);
    expect(gw.status()).toMatchObject({ connections: 1, evictedConnections, refusedConnections });
  });
});

/**
 * Opens `count` raw connections, each sending `bytes` if given, and nothing more. One at a time:
 * on this machine's loopback, many connects at once lose SYNs and wait a second for the retry.
 */
async function openMany(gw: Gateway, count: number, bytes: Uint8Array | undefined): Promise<void> {
  for (let opened = 0; opened < count; opened++) {
    const socket = netConnect(gw.address.port, gw.address.host);
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    if (bytes !== undefined) socket.write(bytes);
  }
}
