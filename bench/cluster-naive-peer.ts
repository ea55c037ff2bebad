/**
 * The two processes of the `naive-json` system of the `cluster` suite (cluster-naive.ts starts
 * them): what a Node program does without a runtime, one TCP connection on 127.0.0.1, one
 * `socket.write(JSON.stringify(msg) + '\n')` per message, the receiver splitting lines and
 * JSON.parse-ing each. Nagle's algorithm stays on (Node's default for net sockets).
 *
 * `node --import tsx cluster-naive-peer.ts sink`: listens on a free port, prints `{"port":P}`,
 * takes one connection and answers it:
 *   {"type":"msg","seq":I,"payload":"xx..."}  counted (the payload's length is checked)
 *   {"type":"sync"}                            -> {"type":"count","count":C}, the count restarts at 0
 *   {"type":"ask","id":I}                      -> {"type":"reply","id":I}
 *   {"type":"stop"}                            closes the connection and exits 0
 * `node --import tsx cluster-naive-peer.ts driver PORT CASES_JSON`: connects, runs the cases (the
 * round lines of cluster-cases.ts on stdout), sends `stop`, waits for the sink to close, exits 0.
 *
 * Bounds: the sender waits for 'drain' whenever `write` returns false (Node's socket buffer, 16 KiB
 * high-water mark), so TCP flow control paces it; a line longer than MAX_LINE without a newline
 * ends the process; every wait has a time limit; the sink exits when idle for IDLE_MS. Any failure:
 * a message on stderr and exit code 1.
 */

import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { PAYLOAD, PAYLOAD_BYTES, type ClusterCase } from './cluster-cases.js';
import { percentileOfSorted } from './support/stats.js';

const MAX_LINE = 1 << 20;
const IDLE_MS = 60_000;
const REPLY_TIMEOUT_MS = 60_000;

type Message =
  | { type: 'msg'; seq: number; payload: string }
  | { type: 'sync' }
  | { type: 'count'; count: number }
  | { type: 'ask'; id: number }
  | { type: 'reply'; id: number }
  | { type: 'stop' };

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function send(socket: Socket, message: Message): boolean {
  return socket.write(`${JSON.stringify(message)}\n`);
}

/** Splits a socket's text into lines and hands each, parsed, to `onMessage`. */
function readMessages(socket: Socket, onMessage: (message: Message) => void): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const text = pending + chunk;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      onMessage(JSON.parse(text.slice(start, newline)) as Message);
      start = newline + 1;
    }
    pending = text.slice(start);
    if (pending.length > MAX_LINE) fail(`naive peer: a line longer than ${MAX_LINE} characters`);
  });
}

function runSink(): void {
  let count = 0;
  let connected = false;
  let stopping = false;
  const server = createServer((socket) => {
    if (connected) {
      socket.destroy();
      fail('naive sink: a second connection');
    }
    connected = true;
    clearTimeout(noConnection);
    socket.setTimeout(IDLE_MS, () => fail(`naive sink: idle for ${IDLE_MS} ms`));
    socket.on('error', (error) => fail(`naive sink: ${error.message}`));
    socket.on('end', () => {
      if (!stopping) fail('naive sink: the driver closed the connection without stop');
    });
    socket.on('close', () => {
      if (stopping) process.exit(0);
    });
    readMessages(socket, (message) => {
      switch (message.type) {
        case 'msg':
          if (message.payload.length !== PAYLOAD_BYTES) fail(`naive sink: payload of ${message.payload.length} characters`);
          count++;
          return;
        case 'sync':
          send(socket, { type: 'count', count });
          count = 0;
          return;
        case 'ask':
          send(socket, { type: 'reply', id: message.id });
          return;
        case 'stop':
          stopping = true;
          socket.end();
          return;
        default:
          fail(`naive sink: unexpected message ${JSON.stringify(message)}`);
      }
    });
  });
  const noConnection = setTimeout(() => fail(`naive sink: no connection within ${IDLE_MS} ms`), IDLE_MS);
  server.on('error', (error) => fail(`naive sink: ${error.message}`));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') fail('naive sink: no port');
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
}

/** The driver's side of the connection: replies come one at a time, each awaited. */
class Replies {
  private readonly queue: Message[] = [];
  private waiter: ((message: Message) => void) | undefined;

  constructor(socket: Socket) {
    readMessages(socket, (message) => {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (waiter !== undefined) waiter(message);
      else if (this.queue.length > 0) fail(`naive driver: an unexpected reply ${JSON.stringify(message)}`);
      else this.queue.push(message);
    });
  }

  next(): Promise<Message> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`naive driver: no reply within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      this.waiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }
}

async function oneway(socket: Socket, replies: Replies, round: number, n: number): Promise<void> {
  const started = process.hrtime.bigint();
  for (let seq = 1; seq <= n; seq++) {
    if (!send(socket, { type: 'msg', seq, payload: PAYLOAD })) await once(socket, 'drain');
  }
  send(socket, { type: 'sync' });
  const reply = await replies.next();
  if (reply.type !== 'count') fail(`naive driver: ${JSON.stringify(reply)} instead of a count`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ case: 'oneway-64B', round, messages: reply.count, seconds })}\n`);
}

async function ask(socket: Socket, replies: Replies, round: number, n: number): Promise<void> {
  const samples = new Float64Array(n);
  for (let id = 0; id < n; id++) {
    const started = process.hrtime.bigint();
    send(socket, { type: 'ask', id });
    const reply = await replies.next();
    if (reply.type !== 'reply' || reply.id !== id) fail(`naive driver: ${JSON.stringify(reply)} for ask ${id}`);
    samples[id] = Number(process.hrtime.bigint() - started) / 1e3;
  }
  samples.sort();
  const line = { case: 'ask-rtt', round, samples: n, p50_us: percentileOfSorted(samples, 0.5), p99_us: percentileOfSorted(samples, 0.99) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function runDriver(port: number, cases: readonly ClusterCase[]): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', (error) => fail(`naive driver: ${error.message}`));
  await once(socket, 'connect');
  const replies = new Replies(socket);
  for (const c of cases) {
    for (let round = 0; round <= c.rounds; round++) {
      const n = round === 0 ? c.warmup : c.count;
      if (c.name === 'oneway-64B') await oneway(socket, replies, round, n);
      else await ask(socket, replies, round, n);
    }
  }
  send(socket, { type: 'stop' });
  const closed = once(socket, 'close');
  const timer = setTimeout(() => fail(`naive driver: the sink did not close within ${REPLY_TIMEOUT_MS} ms`), REPLY_TIMEOUT_MS);
  await closed;
  clearTimeout(timer);
}

function main(argv: readonly string[]): void {
  const [role, port, cases] = argv;
  if (role === 'sink') return runSink();
  if (role === 'driver' && port !== undefined && cases !== undefined) {
    runDriver(Number(port), JSON.parse(cases) as ClusterCase[]).then(
      () => process.exit(0),
      (error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)),
    );
    return;
  }
  fail('usage: cluster-naive-peer.ts sink | driver PORT CASES_JSON');
}

main(process.argv.slice(2));
