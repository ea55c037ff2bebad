/**
 * The TypeScript client of the gateway: one TCP connection, many requests in flight.
 *
 * Each request gets an id (a uint32 counter, skipping ids still outstanding) and its own timer;
 * the reply with that id settles it, in whatever order replies come. A reply for an id that is
 * no longer outstanding (it timed out first) is counted in `lateReplies`. When the socket closes,
 * for any reason, every outstanding request rejects with HORDE_CONNECTION_CLOSED; its cause is
 * the gateway's goodbye reason when it gave one (a malformed frame, too many connections, the
 * gateway closing), or the socket error.
 *
 * Bounds: at most `maxOutstanding` requests (one more rejects at once with HORDE_OVERLOADED,
 * without being sent), each at most `maxFrameBytes`; frames from the gateway are checked against
 * `maxFrameBytes` before allocation, and an oversize or undecodable one closes the connection.
 */

import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { MicrotaskCork } from '../net/microtask-cork.js';
import { FrameDecoder } from '../net/framing.js';
import { GATEWAY_MAX_FRAME_BYTES, decodeJson, decodeServerMessage, encodeJson, encodeRequest, failureToError } from './protocol.js';

export interface GatewayAddress {
  host: string;
  port: number;
}

export interface RequestOptions {
  /** Reject with HORDE_TIMEOUT after this long; the gateway gives the service no longer. Default 5,000 ms. */
  timeoutMs?: number;
}

export interface ConnectOptions {
  /** Most bytes of one frame, both ways. Default 1 MiB (the gateway's default). */
  maxFrameBytes?: number;
  /** Give up connecting (HORDE_TIMEOUT) after this long. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Most requests outstanding at once; one more rejects with HORDE_OVERLOADED. Default 65,536. */
  maxOutstanding?: number;
}

export interface GatewayClient {
  /**
   * Sends one request; many may be outstanding (pipelining). Resolves with the service's reply.
   * Rejects with HordeError: HORDE_OVERLOADED (shed by throttling), HORDE_UNKNOWN_SERVICE,
   * HORDE_TIMEOUT, HORDE_REMOTE_ERROR (the service crashed/failed; cause carries its code),
   * HORDE_BAD_REQUEST, HORDE_CONNECTION_CLOSED.
   */
  request<R = unknown>(service: string, msg: unknown, options?: RequestOptions): Promise<R>;
  /** Requests sent and not yet settled. */
  readonly outstanding: number;
  /** Replies that came after their request had timed out. */
  readonly lateReplies: number;
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_OUTSTANDING = 65_536;
const MAX_TIMEOUT_MS = 0xffffffff;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class Client implements GatewayClient {
  private readonly pending = new Map<number, Pending>();
  private readonly decoder: FrameDecoder;
  private nextId = 1;
  private late = 0;
  private readonly cork: MicrotaskCork;
  private closeReason: Error | undefined;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly maxFrameBytes: number,
    private readonly maxOutstanding: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.cork = new MicrotaskCork(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.closeReason ??= error;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.onClose();
        resolve();
      });
    });
  }

  get outstanding(): number {
    return this.pending.size;
  }

  get lateReplies(): number {
    return this.late;
  }

  async request<R = unknown>(service: string, msg: unknown, options: RequestOptions = {}): Promise<R> {
    if (this.isClosed) throw this.closedError();
    if (typeof service !== 'string' || service.length === 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, 'request: "service" must be a non-empty string');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `request: option "timeoutMs" must be a number from 1 to ${MAX_TIMEOUT_MS}; got ${String(timeoutMs)}`);
    }
    if (this.pending.size >= this.maxOutstanding) {
      throw new HordeError(ErrorCode.OVERLOADED, `this client already has ${this.pending.size} requests outstanding (maxOutstanding)`);
    }
    const id = this.allocateId();
    const frame = encodeRequest({ id, service, payload: encodeJson(msg), timeoutMs: Math.ceil(timeoutMs) }, this.maxFrameBytes);
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HordeError(ErrorCode.TIMEOUT, `request ${id} to "${service}" got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve, reject, timer });
      // Requests made in one stretch of synchronous code leave in one write system call.
      this.cork.write(frame);
    });
  }

  async close(): Promise<void> {
    if (!this.isClosed) {
      this.closeReason ??= new HordeError(ErrorCode.CONNECTION_CLOSED, 'the client closed the connection');
      this.socket.end();
      const grace = setTimeout(() => this.socket.destroy(), 2_000);
      await this.closedPromise;
      clearTimeout(grace);
    }
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (frame) => this.onFrame(frame));
    } catch (error) {
      this.closeReason ??= error as Error;
      this.socket.destroy();
    }
  }

  private onFrame(frame: Uint8Array): void {
    const message = decodeServerMessage(frame);
    if ('goodbye' in message) {
      this.closeReason = failureToError(message.goodbye);
      return;
    }
    const reply = message.reply;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) {
      this.late++;
      return;
    }
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if ('failure' in reply) {
      pending.reject(failureToError(reply.failure));
      return;
    }
    let value: unknown;
    try {
      value = decodeJson(reply.value);
    } catch (error) {
      pending.reject(error as Error);
      return;
    }
    pending.resolve(value);
  }

  private onClose(): void {
    this.isClosed = true;
    const error = this.closedError();
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  private closedError(): HordeError {
    const reason = this.closeReason;
    if (reason instanceof HordeError && reason.code === ErrorCode.CONNECTION_CLOSED) return reason;
    const why = reason === undefined ? '' : `: ${reason.message}`;
    return new HordeError(ErrorCode.CONNECTION_CLOSED, `the gateway connection closed${why}`, reason === undefined ? undefined : { cause: reason });
  }
}

/** Connects to a gateway (`{host, port}` or "host:port"). */
export async function connect(address: GatewayAddress | string, options: ConnectOptions = {}): Promise<GatewayClient> {
  const { host, port } = parseAddress(address);
  const maxFrameBytes = options.maxFrameBytes ?? GATEWAY_MAX_FRAME_BYTES;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const maxOutstanding = options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 64 || maxFrameBytes > 0xffffffff) invalidOption('maxFrameBytes', 'an integer from 64 to 2^32 - 1', maxFrameBytes);
  if (typeof connectTimeoutMs !== 'number' || !Number.isFinite(connectTimeoutMs) || connectTimeoutMs < 1) invalidOption('connectTimeoutMs', 'a finite number of ms >= 1', connectTimeoutMs);
  if (!Number.isSafeInteger(maxOutstanding) || maxOutstanding < 1) invalidOption('maxOutstanding', 'a positive integer', maxOutstanding);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HordeError(ErrorCode.TIMEOUT, `could not connect to ${host}:${port} within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    const failed = (error: Error): void => {
      clearTimeout(timer);
      reject(new HordeError(ErrorCode.CONNECTION_CLOSED, `could not connect to ${host}:${port}: ${error.message}`, { cause: error }));
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', failed);
      resolve(new Client(socket, maxFrameBytes, maxOutstanding));
    });
  });
}

function parseAddress(address: GatewayAddress | string): GatewayAddress {
  if (typeof address === 'string') {
    const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
    if (match === null) invalidOption('address', 'an object {host, port} or a "host:port" string', address);
    return checkPort({ host: match[1]!, port: Number(match[2]) });
  }
  if (typeof address !== 'object' || address === null || typeof address.host !== 'string') invalidOption('address', 'an object {host, port} or a "host:port" string', address);
  return checkPort(address);
}

function checkPort(address: GatewayAddress): GatewayAddress {
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65_535) invalidOption('address.port', 'an integer from 1 to 65535', address.port);
  return { host: address.host, port: address.port };
}
