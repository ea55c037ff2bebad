/**
 * The client gateway: external API clients reach the node's services over TCP (client.proto),
 * and overload is met at this boundary.
 *
 * Correlation: each connection has an id, each request an id chosen by the client; a request
 * runs as `node.ask(service, msg)` whose settlement looks the connection up again by its id. A
 * reply for a connection that closed meanwhile (or said goodbye) is dropped and counted
 * (`droppedReplies`); a reply never reaches another connection.
 *
 * Admission (all on the main thread, so no locks): a request is admitted (run at once) unless
 *  - its connection already has maxOutstandingPerConnection requests: OVERLOADED reply (shed);
 *  - the throttle is on (canary round trips passed the high mark, see throttle.ts). Then a
 *    request is held (not run) while its connection has fewer than pipelineAllowance requests
 *    outstanding or held, and the connection is no longer read from; past the allowance it gets
 *    an OVERLOADED reply at once (shed). When the throttle turns on, every connection with at
 *    most one request outstanding stops being read (a simple client just waits; TCP carries the
 *    pressure back); pipelining connections keep being read so that each request beyond their
 *    allowance gets its explicit OVERLOADED. When admission resumes, held requests run in
 *    arrival order (with what is left of their timeout) and reading resumes;
 *  - throttling is on and the requests in flight fill the admission window (admission-window.ts:
 *    widened by one for each canary below the low mark, halved by one above the midpoint of the
 *    marks, so the on/off throttle at the high mark is the safety net behind it): the
 *    request is held or shed the same way, and held requests run as answers free the window.
 *    This keeps the work queued in the node small, so canaries stay near their idle latency.
 * Counters: admitted = completed + failed + in flight; shed requests never ran; rejected ones
 * were refused for what they are (unknown service, bad payload, duplicate id).
 *
 * Bad input: a frame over maxFrameBytes or one that does not decode closes the connection with a
 * goodbye naming the reason (badFrames).
 *
 * Time limits (slowloris): each connection is in one stage with a deadline (connection-stages.ts):
 * its first whole frame within firstFrameTimeoutMs, the rest of a started frame within
 * frameTimeoutMs, and with nothing in flight at most idleTimeoutMs. One periodic sweep on the
 * main thread closes the connections past their deadline with a goodbye, counted by reason. A
 * sweep rather than a timer per connection: the stages keep their connections in deadline order,
 * so a sweep costs O(1 + expired) and a change of stage a Map delete and set, where a timer per
 * connection would be re-armed (or cancelled and created) at every frame of every connection; the
 * price is lateness of up to one sweep period (a tenth of the shortest limit, 5 ms to 1 s).
 * At maxConnections a new connection takes the place of one with nothing in flight (one that
 * never sent a byte, else the one idle the longest; O(1), the first entry of an ordered set),
 * which gets an idle goodbye (evictedConnections); with none idle it gets a goodbye itself
 * (refusedConnections). Closes with nothing in flight say so in the goodbye (`idle`), so a
 * client resends what crossed the goodbye on a new connection.
 *
 * Time and the sweep's timer come from a GatewayClock (the node clock and an unref'd interval by
 * default), a seam like the throttle's clock; the stages themselves are pure (time passed in).
 *
 * Latency: request round trips (read to reply written) and canary round trips go into sliding
 * windows of windowMs; canaries sent and answered while no request was in flight also feed the
 * idle window (idleCanaryP99Ms).
 */

import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ErrorCode, HordeError } from '../errors.js';
import type { HordeNode } from '../node/node.js';
import { nowMs } from '../internal/clock.js';
import { Canaries, type CanarySample } from './canaries.js';
import { GatewayConnection, PauseReason, type ConnectionTiming, type HeldRequest } from './connection.js';
import { ConnectionStages, Stage } from './connection-stages.js';
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { decodeJson, decodeRequest, encodeJson, toFailure, type Failure } from './protocol.js';
import { ThrottleState, type ThrottleEvent } from './throttle.js';
import { AdmissionWindow } from './admission-window.js';
import { SlidingWindow } from './window.js';
import type { GatewayAddress } from './client.js';
import { attachGateway } from '../node/metrics-gateways.js';

export type { GatewayOptions } from './options.js';

/** Idle canary samples needed before the admission window's marks follow them. */
const IDLE_SAMPLES_FOR_MARKS = 20;
/** Lowest low mark of the admission window (ms): below it is timer and scheduling noise. */
const ADAPTIVE_FLOOR_MS = 1;
/** Bounds of the period of the sweep that closes connections past their time limits (ms). */
const MIN_SWEEP_MS = 5;
const MAX_SWEEP_MS = 1_000;

/** The gateway's time and its one periodic timer (a seam: tests drive both). */
export interface GatewayClock {
  /** ms, never going back. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called; must not keep the process alive. */
  every(ms: number, tick: () => void): () => void;
}

/** The node clock and an unref'd interval. */
export const systemGatewayClock: GatewayClock = {
  now: nowMs,
  every(ms, tick) {
    const interval = setInterval(tick, ms);
    interval.unref();
    return () => clearInterval(interval);
  },
};

/** A gateway's counters (since it started) and latency figures (over the last `windowMs`), from `gateway.status()`. */
export interface GatewayStatus {
  /** True while the throttle is on: a canary passed `highMarkMs` and they have not stayed below `lowMarkMs` for `holdMs` since. */
  throttled: boolean;
  /** Times the throttle turned on or off (each one a 'throttle' event). */
  throttleChanges: number;
  /** Requests that may be in flight now (the admission window, while throttling is on). */
  admissionWindow: number;
  /** Canary round trips in the window (0 when none). */
  canaryP50Ms: number;
  /** p99 of the canary round trips in the window, in ms (0 when none): what the throttle compares with its marks. */
  canaryP99Ms: number;
  /** Canary p99 over the window's samples taken with no request in flight (undefined: none). */
  idleCanaryP99Ms?: number;
  /** Request round trips in the window, read to reply written (0 when none). */
  requestP50Ms: number;
  /** p99 of the request round trips in the window, in ms (0 when none). */
  requestP99Ms: number;
  /** Connections open now (not those closing after a goodbye). */
  connections: number;
  /** Requests handed to their service: `completed` + `failed` + `inFlight`. */
  admitted: number;
  /** Requests answered HORDE_OVERLOADED without running: past `pipelineAllowance` while throttled or the admission window is full, or over `maxOutstandingPerConnection`. */
  shed: number;
  /** Admitted requests answered with the service's reply. */
  completed: number;
  /** Admitted requests that ended in an error: timeout, a service that crashed or ended, a reply JSON cannot carry. */
  failed: number;
  /** Replies not sent because their connection had closed or said goodbye. */
  droppedReplies: number;
  /** Frames over `maxFrameBytes` or that do not decode; each closes its connection with a goodbye. */
  badFrames: number;
  /** Refused for what they are: unknown service, payload not JSON, duplicate request id. */
  rejected: number;
  /** Admitted requests whose service has not answered yet. */
  inFlight: number;
  /** Requests waiting for admission (the throttle on or the admission window full), not run yet. */
  held: number;
  /** New connections closed at once with a goodbye: at `maxConnections` with none idle to evict, or while the gateway closes. */
  refusedConnections: number;
  /** Connections closed (idle goodbye) to make room for a new one at maxConnections. */
  evictedConnections: number;
  /** Connections closed for not sending a whole first frame within firstFrameTimeoutMs (silent ones among them). */
  firstFrameTimeouts: number;
  /** Connections closed for not finishing a started frame within frameTimeoutMs. */
  frameTimeouts: number;
  /** Connections closed after idleTimeoutMs with nothing in flight. */
  idleTimeouts: number;
  /** Connections closed because their client left more than maxWriteBufferBytes of replies unread. */
  slowClients: number;
  /** Errors reported by connection sockets (a client that reset the connection, ...). */
  socketErrors: number;
  /** Canaries that could not be asked or spawned again (each one a 'canaryFailed' event, or a line on stderr without a listener). */
  canaryFailures: number;
}

export type { ThrottleEvent } from './throttle.js';

/**
 * A client gateway in front of a node's registered services, on the node's main thread; made by
 * `startGateway`. Events: 'throttle' (a `ThrottleEvent`) at every change of the throttle,
 * 'canaryFailed' and 'serverError' (the error); each goes to stderr when it has no listener.
 */
export class Gateway extends EventEmitter {
  private readonly connections = new Map<number, GatewayConnection>();
  private readonly throttle: ThrottleState;
  private readonly canaryWindow: SlidingWindow;
  private readonly idleCanaryWindow: SlidingWindow;
  private readonly requestWindow: SlidingWindow;
  private readonly canaries: Canaries;
  private readonly server: Server;
  private throttling: boolean;
  private readonly window: AdmissionWindow;
  /** Canary p99 the last time the node was seen idle (enough idle samples in the window). */
  private idleP99Ms: number | undefined;
  /** Connections holding requests that wait for the window (not for the throttle). */
  private readonly waiting = new Set<GatewayConnection>();
  private bound: GatewayAddress = { host: '', port: 0 };
  private nextConnectionId = 1;
  /** When the last request in flight settled: canaries sent after it (and back before the next) ran on an idle node. */
  private busyUntil = 0;
  private closed = false;
  private readonly counts = {
    admitted: 0, shed: 0, completed: 0, failed: 0, droppedReplies: 0, badFrames: 0, rejected: 0,
    inFlight: 0, refusedConnections: 0, evictedConnections: 0, firstFrameTimeouts: 0, frameTimeouts: 0, idleTimeouts: 0,
    slowClients: 0, socketErrors: 0, canaryFailures: 0,
  };
  private readonly timing: ConnectionTiming;
  private stopSweep: (() => void) | undefined;
  /** Takes it out of its node's `/metrics`. */
  private detachMetrics: (() => void) | undefined;

  /** Use `startGateway`. */
  private constructor(
    private readonly node: HordeNode,
    private readonly options: ResolvedGatewayOptions,
    private readonly clock: GatewayClock,
  ) {
    super();
    const now = (): number => clock.now();
    this.throttling = options.throttle;
    this.window = new AdmissionWindow(options.minInFlight, options.maxInFlight, options.maxInFlight, options.canaryPeriodMs * 4);
    this.throttle = new ThrottleState(options, now);
    this.canaryWindow = new SlidingWindow(options.windowMs, now);
    this.idleCanaryWindow = new SlidingWindow(options.windowMs, now);
    this.requestWindow = new SlidingWindow(options.windowMs, now);
    this.timing = { stages: new ConnectionStages<GatewayConnection>(options), now };
    this.canaries = new Canaries(node, options.canaryPeriodMs, now, {
      sample: (sample) => this.onCanary(sample),
      failed: (error) => {
        this.counts.canaryFailures++;
        this.report('canaryFailed', error);
      },
    });
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** @internal `clock`: a seam for tests. */
  static async start(node: HordeNode, options: GatewayOptions, clock: GatewayClock = systemGatewayClock): Promise<Gateway> {
    const gateway = new Gateway(node, resolveGatewayOptions(options), clock);
    try {
      await gateway.canaries.start();
    } catch (error) {
      gateway.canaries.stop();
      throw error;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        gateway.server.once('error', reject);
        gateway.server.listen(gateway.options.listen.port, gateway.options.listen.host, () => {
          gateway.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      gateway.canaries.stop();
      throw new HordeError(ErrorCode.INVALID_OPTION, `gateway cannot listen on ${gateway.options.listen.host}:${gateway.options.listen.port}: ${(error as Error).message}`, { cause: error });
    }
    const bound = gateway.server.address() as AddressInfo;
    gateway.bound = { host: bound.address, port: bound.port };
    gateway.server.on('error', (error) => gateway.report('serverError', error));
    const { firstFrameTimeoutMs, frameTimeoutMs, idleTimeoutMs } = gateway.options;
    const shortest = Math.min(firstFrameTimeoutMs, frameTimeoutMs, idleTimeoutMs === 0 ? Infinity : idleTimeoutMs);
    gateway.stopSweep = clock.every(Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, shortest / 10)), () => gateway.sweep());
    gateway.detachMetrics = attachGateway(node, gateway);
    return gateway;
  }

  /** Where the gateway listens (stays readable after close). */
  get address(): GatewayAddress {
    return this.bound;
  }

  /** The counters since the gateway started and the latency over the last `windowMs`. */
  status(): GatewayStatus {
    const canary = this.canaryWindow.percentiles([0.5, 0.99]);
    const idle = this.idleCanaryWindow.percentiles([0.99]);
    const request = this.requestWindow.percentiles([0.5, 0.99]);
    let held = 0;
    for (const connection of this.connections.values()) held += connection.held.length;
    const status: GatewayStatus = {
      throttled: this.throttle.throttled,
      throttleChanges: this.throttle.changes,
      admissionWindow: this.window.limit,
      canaryP50Ms: canary?.[0] ?? 0,
      canaryP99Ms: canary?.[1] ?? 0,
      requestP50Ms: request?.[0] ?? 0,
      requestP99Ms: request?.[1] ?? 0,
      connections: this.connections.size,
      held,
      ...this.counts,
    };
    if (idle !== undefined) status.idleCanaryP99Ms = idle[0]!;
    return status;
  }

  /** Switches throttling on or off; off admits again at once (held requests run). */
  setThrottling(enabled: boolean): void {
    this.throttling = enabled;
    this.window.reset(this.options.maxInFlight);
    if (!enabled) {
      this.transition(this.throttle.reset());
      this.admitWaiting();
    }
  }

  /** Stops listening and the canaries; every connection gets a goodbye. Resolves once all are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.canaries.stop();
    this.stopSweep?.();
    this.detachMetrics?.();
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections.values()) {
      connection.goodbye({ code: ErrorCode.CONNECTION_CLOSED, message: 'the gateway is closing' });
    }
    await closing;
  }

  private accept(socket: Socket): void {
    if (!this.closed && this.connections.size >= this.options.maxConnections) this.evict();
    if (this.closed || this.connections.size >= this.options.maxConnections) {
      this.counts.refusedConnections++;
      const reason = this.closed
        ? 'the gateway is closing'
        : `the gateway serves at most ${this.options.maxConnections} connections and none of them is idle`;
      const refused = new GatewayConnection(0, socket, this.options, {
        frame: () => undefined,
        oversize: () => undefined,
        writeOverflow: () => undefined,
        socketError: () => this.counts.socketErrors++,
        closed: () => undefined,
      }, this.timing);
      refused.goodbye({ code: this.closed ? ErrorCode.CONNECTION_CLOSED : ErrorCode.OVERLOADED, message: reason });
      return;
    }
    const connection = new GatewayConnection(this.nextConnectionId++, socket, this.options, {
      frame: (conn, bytes) => this.onFrame(conn, bytes),
      oversize: () => this.counts.badFrames++,
      writeOverflow: () => this.counts.slowClients++,
      socketError: () => this.counts.socketErrors++,
      closed: (conn) => {
        this.connections.delete(conn.id);
        this.waiting.delete(conn);
      },
    }, this.timing);
    this.connections.set(connection.id, connection);
    connection.start();
    if (this.throttle.throttled) connection.pause(PauseReason.THROTTLE);
  }

  /** Closes the connection with nothing in flight that has shown the least (see connection-stages.ts), if any. */
  private evict(): void {
    const victim = this.timing.stages.evictable();
    if (victim === undefined) return;
    this.counts.evictedConnections++;
    victim.goodbye({
      code: ErrorCode.OVERLOADED,
      message: `closed with nothing in flight to make room for a new connection (the gateway serves at most ${this.options.maxConnections})`,
    }, true);
  }

  /** Closes the connections past their stage's deadline, each with a goodbye naming the limit. */
  private sweep(): void {
    this.timing.stages.expire(this.clock.now(), (connection, stage) => {
      const { firstFrameTimeoutMs, frameTimeoutMs, idleTimeoutMs } = this.options;
      switch (stage) {
        case Stage.FIRST_FRAME: {
          this.counts.firstFrameTimeouts++;
          // A connection that sent nothing has nothing in flight: an idle goodbye.
          const silent = connection.silent;
          const message = silent
            ? `no request within ${firstFrameTimeoutMs} ms of connecting (firstFrameTimeoutMs)`
            : `the first frame was not complete within ${firstFrameTimeoutMs} ms of connecting (firstFrameTimeoutMs)`;
          connection.goodbye({ code: ErrorCode.TIMEOUT, message }, silent);
          return;
        }
        case Stage.FRAME:
          this.counts.frameTimeouts++;
          connection.goodbye({ code: ErrorCode.TIMEOUT, message: `a frame was not complete within ${frameTimeoutMs} ms of its first byte (frameTimeoutMs)` });
          return;
        case Stage.IDLE:
          this.counts.idleTimeouts++;
          connection.goodbye({ code: ErrorCode.CONNECTION_CLOSED, message: `idle for ${idleTimeoutMs} ms (idleTimeoutMs)` }, true);
          return;
      }
    });
  }

  private onFrame(connection: GatewayConnection, bytes: Uint8Array): void {
    const arrivedAt = this.clock.now();
    let request;
    try {
      request = decodeRequest(bytes);
    } catch (error) {
      this.counts.badFrames++;
      connection.goodbye(toFailure(error));
      return;
    }
    const { id, service } = request;
    if (connection.outstanding.has(id) || connection.held.some((held) => held.id === id)) {
      this.reject(connection, id, new HordeError(ErrorCode.BAD_REQUEST, `request id ${id} is already outstanding on this connection`));
      return;
    }
    // Shedding comes before decoding the payload: under overload most requests are shed, and
    // the main thread's time is what the node is short of.
    const pending = connection.outstanding.size + connection.held.length;
    if (pending >= this.options.maxOutstandingPerConnection) {
      this.shed(connection, id, `this connection already has ${pending} requests outstanding (maxOutstandingPerConnection)`);
      return;
    }
    const windowFull = this.throttling && this.counts.inFlight >= this.window.limit;
    const waits = this.throttle.throttled || windowFull;
    if (waits && pending >= this.options.pipelineAllowance) {
      this.shed(connection, id, 'the node is overloaded: not admitting requests beyond the pipeline allowance');
      return;
    }
    let msg: unknown;
    try {
      msg = decodeJson(request.payload);
    } catch (error) {
      this.reject(connection, id, error);
      return;
    }
    const timeoutMs = Math.min(request.timeoutMs === 0 ? this.options.defaultTimeoutMs : request.timeoutMs, this.options.maxTimeoutMs);
    const held: HeldRequest = { id, service, msg, timeoutMs, arrivedAt };
    if (waits) {
      connection.held.push(held);
      connection.pause(PauseReason.THROTTLE);
      if (!this.throttle.throttled) this.waiting.add(connection);
      return;
    }
    this.dispatch(connection, held);
  }

  /** Runs a request in its service; the reply goes to the connection with that id, if still open. */
  private dispatch(connection: GatewayConnection, request: HeldRequest): void {
    const { id, arrivedAt } = request;
    const pid = this.node.whereis(request.service);
    if (pid === undefined) {
      this.reject(connection, id, new HordeError(ErrorCode.UNKNOWN_SERVICE, `no service is registered as "${request.service}"`));
      return;
    }
    const timeoutMs = request.timeoutMs - (this.clock.now() - arrivedAt);
    this.counts.admitted++;
    this.counts.inFlight++;
    connection.outstanding.set(id, arrivedAt);
    const connectionId = connection.id;
    let answer: Promise<unknown>;
    try {
      if (timeoutMs < 1) throw new HordeError(ErrorCode.TIMEOUT, `the request waited its whole timeout (${request.timeoutMs} ms) for admission`);
      answer = this.node.ask(pid, request.msg, { timeoutMs });
    } catch (error) {
      this.settle(connectionId, id, arrivedAt, undefined, error);
      return;
    }
    answer.then(
      (value) => this.settle(connectionId, id, arrivedAt, value, undefined),
      (error: unknown) => this.settle(connectionId, id, arrivedAt, undefined, error),
    );
  }

  /** Runs held requests while the window has room (and the throttle is off), in connection order. */
  private admitWaiting(): void {
    if (this.throttle.throttled) return;
    for (const connection of this.waiting) {
      if (!connection.open) {
        this.waiting.delete(connection);
        continue;
      }
      while (connection.held.length > 0 && (!this.throttling || this.counts.inFlight < this.window.limit)) {
        this.dispatch(connection, connection.held.shift()!);
      }
      connection.refreshStage();
      if (connection.held.length > 0) return;
      this.waiting.delete(connection);
      connection.resume(PauseReason.THROTTLE);
    }
  }

  private settle(connectionId: number, id: number, arrivedAt: number, value: unknown, error: unknown): void {
    if (--this.counts.inFlight === 0) this.busyUntil = this.clock.now();
    if (this.waiting.size > 0) queueMicrotask(() => this.admitWaiting());
    if (error === undefined) this.counts.completed++;
    else this.counts.failed++;
    const connection = this.connections.get(connectionId);
    if (connection === undefined || !connection.open) {
      this.counts.droppedReplies++;
      return;
    }
    connection.outstanding.delete(id);
    connection.refreshStage();
    if (error === undefined) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = encodeJson(value);
        if (connection.send({ reply: { id, value: bytes } })) this.requestWindow.add(this.clock.now() - arrivedAt);
        else this.counts.droppedReplies++;
        return;
      } catch (encodeError) {
        // The service answered with something a client cannot receive (not JSON, or too large).
        this.counts.completed--;
        this.counts.failed++;
        error = encodeError;
      }
    }
    if (this.replyFailure(connection, id, remoteFailure(error))) this.requestWindow.add(this.clock.now() - arrivedAt);
  }

  private reject(connection: GatewayConnection, id: number, error: unknown): void {
    this.counts.rejected++;
    this.replyFailure(connection, id, toFailure(error));
  }

  private shed(connection: GatewayConnection, id: number, message: string): void {
    this.counts.shed++;
    this.replyFailure(connection, id, { code: ErrorCode.OVERLOADED, message });
  }

  /** Sends a failure reply; false (and counted) when the connection closed under it. */
  private replyFailure(connection: GatewayConnection, id: number, failure: Failure): boolean {
    if (connection.send({ reply: { id, failure } })) return true;
    this.counts.droppedReplies++;
    return false;
  }

  private onCanary(sample: CanarySample): void {
    if (!sample.late) {
      this.canaryWindow.add(sample.ms);
      if (this.counts.inFlight === 0 && this.busyUntil <= sample.sentAt) {
        this.idleCanaryWindow.add(sample.ms);
        if (this.idleCanaryWindow.count >= IDLE_SAMPLES_FOR_MARKS) this.idleP99Ms = this.idleCanaryWindow.percentiles([0.99])![0]!;
      }
    }
    if (this.throttling && (!sample.late || sample.ms >= this.options.lowMarkMs)) {
      const marks = this.windowMarks();
      this.window.sample(sample.ms, marks.low, marks.high, this.clock.now());
      this.transition(this.throttle.sample(sample.ms));
      if (this.waiting.size > 0) this.admitWaiting();
    }
  }

  /**
   * The admission window's marks: relative to the canary latency last seen on an idle node (below
   * 1.5x of it the window widens, above 2.5x it halves), so the work queued in the node keeps
   * canaries near their idle value; never above the configured marks (the on/off throttle's),
   * never below ADAPTIVE_FLOOR_MS (timer and scheduling noise). Before any idle figure: the
   * configured marks.
   */
  private windowMarks(): { low: number; high: number } {
    const idle = this.idleP99Ms;
    if (idle === undefined) return { low: this.options.lowMarkMs, high: (this.options.lowMarkMs + this.options.highMarkMs) / 2 };
    const high = Math.min(this.options.highMarkMs, Math.max(ADAPTIVE_FLOOR_MS * 2, idle * 2.5));
    const low = Math.min(this.options.lowMarkMs, high, Math.max(ADAPTIVE_FLOOR_MS, idle * 1.5));
    return { low, high };
  }

  private transition(change: ThrottleEvent | undefined): void {
    if (change === undefined) return;
    if (change.throttled) {
      for (const connection of this.connections.values()) {
        if (connection.outstanding.size <= 1) connection.pause(PauseReason.THROTTLE);
      }
    } else {
      for (const connection of this.connections.values()) {
        if (connection.held.length > 0) this.waiting.add(connection);
        else connection.resume(PauseReason.THROTTLE);
      }
      this.admitWaiting();
    }
    // Logged and counted (throttleChanges): to the 'throttle' listeners, or to stderr without one.
    if (this.listenerCount('throttle') > 0) this.emit('throttle', change);
    else process.stderr.write(`[horde gateway] throttle ${change.throttled ? 'on' : 'off'} (canary ${change.canaryMs.toFixed(1)} ms)\n`);
  }

  private report(event: 'canaryFailed' | 'serverError', detail: unknown): void {
    if (this.listenerCount(event) > 0) {
      this.emit(event, detail);
      return;
    }
    process.stderr.write(`[horde gateway] ${event}: ${detail instanceof Error ? (detail.stack ?? detail.message) : String(detail)}\n`);
  }
}

/** How a service's failure reaches the client: a crash or vanished process is HORDE_REMOTE_ERROR. */
function remoteFailure(error: unknown): Failure {
  const failure = toFailure(error);
  if (failure.code !== ErrorCode.NOPROC) return failure;
  return { code: ErrorCode.REMOTE_ERROR, message: `the service failed: ${failure.message}`, cause: failure };
}

/** Starts a gateway in front of `node`'s registered services; resolves once it listens. */
export function startGateway(node: HordeNode, options: GatewayOptions): Promise<Gateway> {
  return Gateway.start(node, options);
}
