// A clustered node's port under hostile input: wrong secrets, replayed and mismatched handshakes,
// frames before authentication, oversize length prefixes, random and mutated frames, and a peer
// that stops reading. The node must close each bad connection with a counted reason, deliver
// nothing unauthenticated, keep its memory bounded, and keep serving.
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelopeToBytes, Signal } from '../../src/codec/envelope.js';
import { Connection } from '../../src/cluster/connection.js';
import { ErrorCode } from '../../src/errors.js';
import { systemTimers } from '../../src/internal/host.js';
import { encodeFrame as frameBytes, FrameDecoder } from '../../src/net/framing.js';
import { proveSecret } from '../../src/cluster/handshake-crypto.js';
import { PROTOCOL_VERSION, Role, decodeFrame, encodeFrame, type Hello, type WireFrame } from '../../src/cluster/wire.js';
import { startNode, type HordeNode } from '../../src/node/node.js';
import { pid, type Pid } from '../../src/process/pid.js';
import type { CounterMsg } from '../fixtures/behaviours.js';
import type { SourceMsg } from '../fixtures/cluster-behaviours.js';
import { CLUSTER_MODULES, PRELOAD, SECRET, eventually } from '../support/cluster.js';

let node: HordeNode;
let counter: Pid<CounterMsg>;
let port: number;
const events: unknown[] = [];

beforeAll(async () => {
  node = await startNode({
    behaviours: CLUSTER_MODULES,
    preload: [PRELOAD],
    executors: 1,
    cluster: { name: 'fortress', secret: SECRET, handshakeTimeoutMs: 500, maxPendingBytes: 1 << 20, batchBytes: 64 * 1024 },
  });
  node.on('clusterConnection', (detail) => events.push(detail));
  node.on('clusterMember', () => undefined);
  counter = await node.spawn<CounterMsg>('counter');
  port = node.clusterAddress.port;
});

afterAll(async () => {
  await node?.stop();
});

/** A raw client socket that collects the frames the node sends and resolves `closed`. */
function rawClient(): { socket: Socket; frames: WireFrame[]; closed: Promise<void>; hello: Promise<Hello> } {
  const socket = connect({ host: '127.0.0.1', port });
  const frames: WireFrame[] = [];
  const decoder = new FrameDecoder(1 << 20);
  let gotHello: (hello: Hello) => void = () => undefined;
  const hello = new Promise<Hello>((resolve) => (gotHello = resolve));
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk, (bytes) => {
      const frame = decodeFrame(bytes);
      frames.push(frame);
      if (frame.kind === 'hello') gotHello(frame.hello);
    });
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, frames, closed, hello };
}

function send(socket: Socket, frame: WireFrame): void {
  socket.write(frameBytes(encodeFrame(frame)));
}

function helloFrom(name: string, challenge: Uint8Array, overrides: Partial<Hello> = {}): WireFrame {
  return { kind: 'hello', hello: { version: PROTOCOL_VERSION, name, node_id: 4242, incarnation: 'feedfacefeedface', challenge, role: Role.MEMBER, host: '127.0.0.1', port: 1, ...overrides } };
}

async function closedCount(code: string): Promise<number> {
  return (await node.status()).cluster!.closedConnections[code] ?? 0;
}

async function counterValue(): Promise<number> {
  return node.ask<number>(counter, { type: 'get' });
}

describe('the handshake', () => {
  it('closes a peer with the wrong secret and delivers nothing it sent', async () => {
    const before = await closedCount('HORDE_HANDSHAKE_FAILED');
    const client = rawClient();
    const challenge = new Uint8Array(32).fill(7);
    send(client.socket, helloFrom('intruder', challenge));
    const serverHello = await client.hello;
    const proof = proveSecret(new TextEncoder().encode('not-the-secret-at-all'), serverHello.challenge, { prover: 'intruder', incarnation: 'feedfacefeedface', verifier: 'fortress' });
    send(client.socket, { kind: 'auth', proof });
    const envelope = encodeEnvelopeToBytes({ signal: Signal.USER, to: counter, from: undefined, ref: 0, payload: { type: 'inc', by: 1000 } });
    send(client.socket, { kind: 'batch', seq: 1, data: envelope, last: true, ack: 0, lane: 0 });
    await client.closed;
    expect(await closedCount('HORDE_HANDSHAKE_FAILED')).toBeGreaterThan(before);
    expect(await counterValue()).toBe(0);
  });

  it('refuses a replayed handshake: the proof answered an old challenge', async () => {
    // A legitimate status client's handshake, recorded.
    const first = rawClient();
    const challenge = new Uint8Array(32).fill(1);
    const hello = helloFrom('auditor', challenge, { role: Role.STATUS, node_id: 0, host: '', port: 0 });
    send(first.socket, hello);
    const serverHello = await first.hello;
    const auth: WireFrame = { kind: 'auth', proof: proveSecret(new TextEncoder().encode(SECRET), serverHello.challenge, { prover: 'auditor', incarnation: 'feedfacefeedface', verifier: 'fortress' }) };
    send(first.socket, auth);
    send(first.socket, { kind: 'status_request' });
    await first.closed;
    expect(first.frames.some((frame) => frame.kind === 'status_reply')).toBe(true);
    // The same bytes on a new connection: the node issued a fresh challenge.
    const before = await closedCount('HORDE_HANDSHAKE_FAILED');
    const replay = rawClient();
    send(replay.socket, hello);
    send(replay.socket, auth);
    send(replay.socket, { kind: 'status_request' });
    await replay.closed;
    expect(replay.frames.some((frame) => frame.kind === 'status_reply')).toBe(false);
    expect(await closedCount('HORDE_HANDSHAKE_FAILED')).toBeGreaterThan(before);
  });

  it('closes a peer that speaks another protocol version, or sends data before authenticating', async () => {
    const before = await closedCount('HORDE_HANDSHAKE_FAILED');
    const old = rawClient();
    send(old.socket, helloFrom('old-timer', new Uint8Array(32), { version: PROTOCOL_VERSION + 1 }));
    await old.closed;
    const eager = rawClient();
    const envelope = encodeEnvelopeToBytes({ signal: Signal.USER, to: counter, from: undefined, ref: 0, payload: { type: 'inc', by: 5 } });
    send(eager.socket, { kind: 'batch', seq: 1, data: envelope, last: true, ack: 0, lane: 0 });
    await eager.closed;
    expect(await closedCount('HORDE_HANDSHAKE_FAILED')).toBeGreaterThanOrEqual(before + 2);
    expect(await counterValue()).toBe(0);
  });

  it('closes a connection whose handshake stalls', async () => {
    const before = await closedCount('HORDE_HANDSHAKE_FAILED');
    const silent = rawClient();
    await silent.closed;
    expect(await closedCount('HORDE_HANDSHAKE_FAILED')).toBeGreaterThan(before);
  });
});

describe('malformed input', () => {
  it('closes a connection announcing an oversize frame before allocating it', async () => {
    const before = await closedCount('HORDE_FRAME_TOO_LARGE');
    const client = rawClient();
    client.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await client.closed;
    expect(await closedCount('HORDE_FRAME_TOO_LARGE')).toBe(before + 1);
  });

  it('survives random and mutated frames: every bad connection is closed, the node keeps serving', async () => {
    const valid = frameBytes(encodeFrame(helloFrom('fuzz', new Uint8Array(32).fill(3))));
    const frames = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const mutated = valid.slice();
        mutated[at] = byte;
        return mutated;
      }),
      fc.uint8Array({ minLength: 0, maxLength: 200 }).map((body) => frameBytes(body)),
    );
    await fc.assert(
      fc.asyncProperty(frames, async (bytes) => {
        const client = rawClient();
        client.socket.write(bytes);
        await client.closed;
      }),
      { numRuns: 60 },
    );
    expect(await counterValue()).toBe(0);
    node.send(counter, { type: 'inc' });
    expect(await counterValue()).toBe(1);
    node.send(counter, { type: 'inc', by: -1 });
  });
});

describe('a peer that stops reading', () => {
  it('keeps the sender bounded: queued bytes stop at the high-water mark, senders are held back until the peer is gone', async () => {
    // A fake member that authenticates, heartbeats, and never reads what it is sent.
    const socket = connect({ host: '127.0.0.1', port }).setNoDelay(true);
    const slowId = 777;
    let ready!: () => void;
    const authenticated = new Promise<void>((resolve) => (ready = resolve));
    const fake = new Connection(socket, true, { name: 'sluggish', nodeId: slowId, incarnation: 'aaaabbbbccccdddd', host: '127.0.0.1', port: 1, role: Role.MEMBER }, new TextEncoder().encode(SECRET), { maxFrameBytes: 16 << 20, handshakeTimeoutMs: 5000 }, {
      authenticated: (conn) => {
        conn.sendControl({ kind: 'resume', peerIncarnation: '', receivedSeq: 0, receivedBulkSeq: 0 });
        ready();
      },
      frame: () => undefined,
      drain: () => undefined,
      closed: () => undefined,
    }, systemTimers);
    await authenticated;
    const beat = setInterval(() => fake.sendControl({ kind: 'heartbeat', sentAtMs: Date.now() }), 100);
    fake.pauseReading();
    try {
      await eventually(() => node.members().some((m) => m.name === 'sluggish' && m.connected), 10_000, 'fake member up');
      const source = await node.spawn<SourceMsg>('seq-source');
      const total = 2_000_000;
      await node.ask(source, { type: 'run', to: pid(slowId, 0, 65537), count: total, source: 'flood' });
      let peak = 0;
      for (let i = 0; i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const queued = node.members().find((m) => m.name === 'sluggish')!.queuedBytes;
        peak = Math.max(peak, queued);
      }
      // High-water mark 1 MiB, plus what was in flight when the sender was parked (a ring's worth).
      expect(peak).toBeGreaterThan(1 << 20);
      expect(peak).toBeLessThan(4 << 20);
      expect(process.memoryUsage().heapUsed).toBeLessThan(1 << 30);
      // Only the senders to the stuck peer wait: the node still answers for its own processes
      // (their replies come through the rings the main thread keeps reading).
      await expect(counterValue()).resolves.toBe(0);
      const stuck = await node.ask<number>(source, { type: 'sent' }, { timeoutMs: 1000 }).catch(() => -1);
      expect(stuck, 'the flooding sender is parked, not answering').toBe(-1);
      expect(node.members().find((m) => m.name === 'sluggish')!.queuedBytes).toBeLessThan(4 << 20);
      // The main thread's own sends and asks to the stuck peer are refused rather than queued.
      const remote = pid(slowId, 0, 65537);
      let refused: unknown;
      try {
        node.send(remote, 'more');
      } catch (error) {
        refused = error;
      }
      expect(refused).toMatchObject({ code: ErrorCode.OVERLOADED });
      await expect(node.ask(remote, 'question')).rejects.toMatchObject({ code: ErrorCode.OVERLOADED });
      // The stuck peer goes silent and is declared down: its queue is dropped (dead letters) and
      // the node reads its rings again.
      clearInterval(beat);
      fake.close('test over');
      await eventually(() => node.members().find((m) => m.name === 'sluggish')!.state === 'down', 20_000, 'sluggish declared down');
      await expect(counterValue()).resolves.toBe(0);
      const sent = await node.ask<number>(source, { type: 'sent' });
      expect(sent).toBeLessThan(total);
      expect((await node.status()).deadLetters).toBeGreaterThan(0);
      node.exit(source, 'kill');
    } finally {
      clearInterval(beat);
      fake.close('test over');
    }
  });
});
