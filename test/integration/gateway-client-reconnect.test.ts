// The gateway client's reconnection after an idle goodbye, against stand-in gateways (plain TCP
// servers speaking client.proto), through the package's public exports.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ErrorCode, connect, type GatewayClient, type HordeError } from '../../src/index.js';
import { FrameDecoder } from '../../src/net/framing.js';
import { decodeRequest, encodeJson, encodeServerMessage } from '../../src/gateway/protocol.js';
import { rejectsWithCode } from '../support/errors.js';

const clients: GatewayClient[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function client(address: { host: string; port: number }): Promise<GatewayClient> {
  const started = await connect(address);
  clients.push(started);
  return started;
}

describe('gateway client reconnection', () => {
  /**
   * A stand-in gateway: `answer` decides, per connection (0, 1, ...), what each request gets;
   * `greet` what a new connection gets.
   */
  async function standIn(
    answer: (connection: number, socket: Socket, id: number, msg: unknown) => void,
    greet: (connection: number, socket: Socket) => void = () => undefined,
  ): Promise<{ port: number; server: Server; requests: [number, unknown][] }> {
    const requests: [number, unknown][] = [];
    let connections = 0;
    const server = createServer((socket) => {
      const connection = connections++;
      greet(connection, socket);
      const decoder = new FrameDecoder(1 << 20);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) =>
        decoder.push(chunk, (frame) => {
          const { id, payload } = decodeRequest(frame);
          const msg = JSON.parse(Buffer.from(payload).toString()) as unknown;
          requests.push([connection, msg]);
          answer(connection, socket, id, msg);
        }),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, server, requests };
  }

  const idleGoodbye = encodeServerMessage({ goodbye: { code: ErrorCode.CONNECTION_CLOSED, message: 'idle' }, idle: true }, 1 << 20);
  const reply = (id: number, value: unknown): Uint8Array => encodeServerMessage({ reply: { id, value: encodeJson(value) } }, 1 << 20);

  it('sends requests that crossed an idle goodbye again on a new connection', async () => {
    const gw = await standIn((connection, socket, id, msg) => {
      // The first connection says an idle goodbye instead of answering: it never read the request.
      if (connection === 0) socket.end(idleGoodbye);
      else socket.write(reply(id, msg));
    });
    const c = await client({ host: '127.0.0.1', port: gw.port });
    expect(await Promise.all([c.request('any', 1), c.request('any', 2)])).toEqual([1, 2]);
    expect(gw.requests).toEqual([[0, 1], [0, 2], [1, 1], [1, 2]]);
  });

  it('rejects what waits for a reconnection that fails, and tries again at the next request', async () => {
    // The first connection gets an idle goodbye at once, as a silent one does.
    const gw = await standIn((_connection, socket, id, msg) => socket.write(reply(id, msg)), (connection, socket) => {
      if (connection === 0) socket.end(idleGoodbye);
    });
    const c = await client({ host: '127.0.0.1', port: gw.port });
    await new Promise((resolve) => gw.server.close(resolve)); // resolves once the first connection closed
    const lost = await rejectsWithCode(c.request('any', 1), ErrorCode.CONNECTION_CLOSED);
    expect(((lost.cause as NodeJS.ErrnoException).code)).toBe('ECONNREFUSED');
    await new Promise<void>((resolve, reject) => gw.server.once('error', reject).listen(gw.port, '127.0.0.1', resolve));
    expect(await c.request('any', 2)).toBe(2);
  });

  it('keeps a goodbye without idle final: what was outstanding and every later request reject', async () => {
    const gw = await standIn((_connection, socket) => {
      socket.end(encodeServerMessage({ goodbye: { code: ErrorCode.TIMEOUT, message: 'too slow' } }, 1 << 20));
    });
    const c = await client({ host: '127.0.0.1', port: gw.port });
    const error = await rejectsWithCode(c.request('any', 1), ErrorCode.CONNECTION_CLOSED);
    expect((error.cause as HordeError).code).toBe(ErrorCode.TIMEOUT);
    await rejectsWithCode(c.request('any', 2), ErrorCode.CONNECTION_CLOSED);
    expect(gw.requests).toEqual([[0, 1]]);
  });
});
