/**
 * The TypeScript client of the gateway: one TCP connection at a time, many requests in flight.
 *
 * Each request gets an id (a uint32 counter, skipping ids still outstanding) and its own timer;
 * the reply with that id settles it, in whatever order replies come. A reply for an id that is
 * no longer outstanding (it timed out first) is counted in `lateReplies`.
 *
 * Closes: a goodbye marked `idle` (the gateway closed a connection with nothing in flight; see
 * client.proto's Goodbye) is not the user's concern: the client drops that connection and
 * connects again when it has something to send: at once when requests crossed the goodbye (the
 * gateway never read them, so they are sent again on the new connection), else at the next
 * request. A reconnection that fails rejects the requests waiting for it with the reason; the
 * next request tries again. Any other close (a goodbye without `idle`, a socket error, the
 * gateway gone, `close()`) is final, as for a single connection: every outstanding request
 * rejects with HORDE_CONNECTION_CLOSED, its cause the gateway's goodbye reason when it gave one
 * or the socket error, and so does every later request.
 *
 * Bounds: at most `maxOutstanding` requests (one more rejects at once with HORDE_OVERLOADED,
 * without being sent), each at most `maxFrameBytes`; frames from the gateway are checked against
 * `maxFrameBytes` before allocation, and an oversize or undecodable one closes the connection. A
 * request's frame is kept until it settles (to be sent again after an idle goodbye): the bytes
 * held are at most what the requests outstanding hold.
 */

import { connect as netConnect, type Socket } from 'node:net';
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { MicrotaskCork } from '../net/microtask-cork.js';
import { FrameDecoder } from '../net/framing.js';
import { GATEWAY_MAX_FRAME_BYTES, decodeJson, decodeServerMessage, encodeJson, encodeRequest, failureToError } from './protocol.js';

/** A gateway's TCP address, as `gateway.address` gives it and `connect` takes it. */
export interface GatewayAddress {
  /** Host name or IP address (an IPv6 address without brackets). */
  host: string;
  /** TCP port; `connect` accepts 1..65535. */
  port: number;
}

/** Options of one `GatewayClient.request`. */
export interface RequestOptions {
  /** Reject with HORDE_TIMEOUT after this long; the gateway gives the service no longer. Default 5,000 ms. */
  timeoutMs?: number;
}

/** Options of `connect`; a bad one rejects with HORDE_INVALID_OPTION naming it. */
export interface ConnectOptions {
  /** Most bytes of one frame, both ways. Default 1 MiB (the gateway's default). */
  maxFrameBytes?: number;
  /** Give up connecting (HORDE_TIMEOUT) after this long. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Most requests outstanding at once; one more rejects with HORDE_OVERLOADED. Default 65,536. */
  maxOutstanding?: number;
}

/**
 * A client of a gateway, from `connect`: one TCP connection at a time with many requests in flight,
 * answered in any order. It reconnects by itself only after the gateway closed an idle connection;
 * any other close is final.
 */
export interface GatewayClient {
  /**
   * Sends one request; many may be outstanding (pipelining). Resolves with the service's reply.
   * Rejects with HordeError: HORDE_OVERLOADED (shed by throttling), HORDE_UNKNOWN_SERVICE,
   * HORDE_TIMEOUT, HORDE_REMOTE_ERROR (the service crashed/failed; cause carries its code),
   * HORDE_BAD_REQUEST, HORDE_CONNECTION_CLOSED. After the gateway closed an idle connection the
   * request opens a new one by itself (a failed attempt rejects with HORDE_CONNECTION_CLOSED or
   * HORDE_TIMEOUT, as `connect` does).
   */
  request<R = unknown>(service: string, msg: unknown, options?: RequestOptions): Promise<R>;
  /** Requests not yet settled (sent, or waiting for a new connection after an idle goodbye). */
  readonly outstanding: number;
  /** Replies that came after their request had timed out. */
  readonly lateReplies: number;
  /**
   * Closes the client: later requests reject with HORDE_CONNECTION_CLOSED, outstanding ones may
   * still be answered until the connection closes, then reject with it. Resolves once the socket is
   * closed (destroyed if the gateway has not closed its side within 2 s).
   */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_OUTSTANDING = 65_536;
const MAX_TIMEOUT_MS = 0xffffffff;
/** How long `close()` waits for the gateway to close its side before the socket is destroyed. */
const CLOSE_GRACE_MS = 2_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** The request as sent, kept until it settles: sent again on a new connection after an idle goodbye. */
  frame: Uint8Array;
}

interface ClientSettings {
  host: string;
  port: number;
  maxFrameBytes: number;
  connectTimeoutMs: number;
  maxOutstanding: number;
}

/** One TCP connection of a client: its framing, and how it ended. */
class Link {
  readonly decoder: FrameDecoder;
  readonly cork: MicrotaskCork;
  /** Why it closed: the gateway's goodbye reason, or the first socket or framing error. */
  reason: Error | undefined;
  /** The gateway said an idle goodbye: nothing sent on it is lost, and its close is not final. */
  idle = false;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    this.cork = new MicrotaskCork(socket);
    socket.setNoDelay(true);
    socket.on('error', (error) => {
      this.reason ??= error;
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Ends the connection; destroys it if the gateway has not closed its side within the grace period. */
  async end(): Promise<void> {
    this.socket.end();
    const grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    await this.closed;
    clearTimeout(grace);
  }
}

class Client implements GatewayClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private late = 0;
  /** The connection requests go to; undefined after an idle goodbye until the next one is open. */
  private link: Link | undefined;
  /** Every connection not closed yet (one, and an old one closing after an idle goodbye). */
  private readonly links = new Set<Link>();
  /** The reconnection under way, settled once its socket is attached or destroyed. */
  private connecting: Promise<void> | undefined;
  /** Set once the client is closed for good: what every later request rejects with. */
  private closedWith: HordeError | undefined;

  constructor(
    private readonly settings: ClientSettings,
    socket: Socket,
  ) {
    this.link = this.attach(socket);
  }

  get outstanding(): number {
    return this.pending.size;
  }

  get lateReplies(): number {
    return this.late;
  }

  async request<R = unknown>(service: string, msg: unknown, options: RequestOptions = {}): Promise<R> {
    if (this.closedWith !== undefined) throw this.closedWith;
    if (typeof service !== 'string' || service.length === 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, 'request: "service" must be a non-empty string');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `request: option "timeoutMs" must be a number from 1 to ${MAX_TIMEOUT_MS}; got ${String(timeoutMs)}`);
    }
    if (this.pending.size >= this.settings.maxOutstanding) {
      throw new HordeError(ErrorCode.OVERLOADED, `this client already has ${this.pending.size} requests outstanding (maxOutstanding)`);
    }
    const id = this.allocateId();
    const frame = encodeRequest({ id, service, payload: encodeJson(msg), timeoutMs: Math.ceil(timeoutMs) }, this.settings.maxFrameBytes);
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HordeError(ErrorCode.TIMEOUT, `request ${id} to "${service}" got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, frame });
      // Requests made in one stretch of synchronous code leave in one write system call. Without
      // a connection (after an idle goodbye) the request goes out once the next one is open.
      if (this.link !== undefined) this.link.cork.write(frame);
      else this.reconnect();
    });
  }

  async close(): Promise<void> {
    if (this.closedWith === undefined) {
      this.closedWith = new HordeError(ErrorCode.CONNECTION_CLOSED, 'the client closed the connection');
      // With a connection open, what is outstanding may still be answered until it closes.
      if (this.link === undefined) this.rejectAll(this.closedWith);
    }
    await this.connecting;
    await Promise.all([...this.links].map((link) => link.end()));
  }

  private attach(socket: Socket): Link {
    const link = new Link(socket, this.settings.maxFrameBytes);
    this.links.add(link);
    socket.on('data', (chunk: Buffer) => this.onData(link, chunk));
    void link.closed.then(() => this.onLinkClosed(link));
    return link;
  }

  /** Opens a new connection (one at a time) and sends every outstanding request on it. */
  private reconnect(): void {
    if (this.connecting !== undefined || this.closedWith !== undefined) return;
    const { host, port, connectTimeoutMs } = this.settings;
    this.connecting = openSocket(host, port, connectTimeoutMs).then(
      (socket) => {
        this.connecting = undefined;
        if (this.closedWith !== undefined) {
          socket.destroy();
          return;
        }
        const link = this.attach(socket);
        this.link = link;
        for (const pending of this.pending.values()) link.cork.write(pending.frame);
      },
      (error: unknown) => {
        this.connecting = undefined;
        // This attempt failed: the requests waiting for it fail with why; the next request tries again.
        this.rejectAll(error instanceof Error ? error : new HordeError(ErrorCode.UNKNOWN, String(error)));
      },
    );
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private onData(link: Link, chunk: Buffer): void {
    try {
      link.decoder.push(chunk, (frame) => this.onFrame(link, frame));
    } catch (error) {
      link.reason ??= error as Error;
      link.socket.destroy();
    }
  }

  private onFrame(link: Link, frame: Uint8Array): void {
    const message = decodeServerMessage(frame);
    if ('goodbye' in message) {
      link.reason = failureToError(message.goodbye);
      if (message.idle === true) this.dropIdle(link);
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

  /**
   * The gateway closed `link` with nothing in flight: requests still outstanding crossed its
   * goodbye unread, so they go out again on a new connection (opened now if there are any).
   */
  private dropIdle(link: Link): void {
    link.idle = true;
    if (this.link !== link) return;
    this.link = undefined;
    link.socket.end();
    if (this.pending.size > 0) this.reconnect();
  }

  private onLinkClosed(link: Link): void {
    this.links.delete(link);
    if (link.idle || link !== this.link) return;
    // Lost for another reason (or closed by `close()`): final, as for a single connection.
    this.link = undefined;
    this.closedWith ??= closedError(link.reason);
    this.rejectAll(this.closedWith);
  }

  private rejectAll(error: Error): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}

function closedError(reason: Error | undefined): HordeError {
  if (reason instanceof HordeError && reason.code === ErrorCode.CONNECTION_CLOSED) return reason;
  const why = reason === undefined ? '' : `: ${reason.message}`;
  return new HordeError(ErrorCode.CONNECTION_CLOSED, `the gateway connection closed${why}`, reason === undefined ? undefined : { cause: reason });
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
  const socket = await openSocket(host, port, connectTimeoutMs);
  return new Client({ host, port, maxFrameBytes, connectTimeoutMs, maxOutstanding }, socket);
}

/** A connected socket; rejects with HORDE_CONNECTION_CLOSED (and the cause) or HORDE_TIMEOUT. */
function openSocket(host: string, port: number, connectTimeoutMs: number): Promise<Socket> {
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
      resolve(socket);
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
