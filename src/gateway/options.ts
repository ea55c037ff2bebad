// The gateway's options: defaults and validation (a bad option throws HORDE_INVALID_OPTION naming it).
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { GATEWAY_MAX_FRAME_BYTES } from './protocol.js';

/** Options of `startGateway`; a bad one rejects with HORDE_INVALID_OPTION naming it. */
export interface GatewayOptions {
  /** Where to listen; port 0 picks a free port (see `gateway.address`). */
  listen: {
    /** Host name or address to listen on. */
    host: string;
    /** TCP port, 0 to 65535; 0 picks a free one. */
    port: number;
  };
  /** Throttle on canary latency. Default true (`setThrottling` switches it at run time). */
  throttle?: boolean;
  /** A canary round trip above this stops admission. Default 15 ms (keep it above the idle canary p99). */
  highMarkMs?: number;
  /** Admission resumes once canaries stay below this... Default 5 ms. */
  lowMarkMs?: number;
  /** ...for this long. Default 100 ms. */
  holdMs?: number;
  /** How often each executor shard's canary is asked. Default 10 ms. */
  canaryPeriodMs?: number;
  /** The sliding window of the latency figures in `status()`. Default 1,000 ms. */
  windowMs?: number;
  /** Requests a client may have outstanding while throttled (held, not yet run); past it: OVERLOADED. Default 1. */
  pipelineAllowance?: number;
  /** Most bytes of one frame, both ways. Default 1 MiB. */
  maxFrameBytes?: number;
  /**
   * Connections served at once. One more takes the place of a connection with nothing in flight
   * (one that never sent a byte, else the one idle the longest), which gets a goodbye; with none
   * idle, the new one gets a goodbye (HORDE_OVERLOADED). Default 1,024.
   */
  maxConnections?: number;
  /** A new connection must send its first whole frame within this long, or it is closed. Default 5,000 ms. */
  firstFrameTimeoutMs?: number;
  /** Once a frame has started, the rest of it must arrive within this long, or the connection is closed. Default 10,000 ms. */
  frameTimeoutMs?: number;
  /** A connection with nothing in flight for this long is closed (its client reconnects when it needs to). 0: never. Default 300,000 ms. */
  idleTimeoutMs?: number;
  /**
   * Smallest size of the admission window: while throttling is on, the requests in flight in the
   * node are bounded by a window the canaries size (widened by one per fast canary, halved by a
   * slow one). Default 2.
   */
  minInFlight?: number;
  /** Largest size of the admission window, and where it starts (again at each `setThrottling`); at least `minInFlight`. Default 1,024. */
  maxInFlight?: number;
  /** Requests one connection may have in flight; past it: OVERLOADED replies. Default 1,024. */
  maxOutstandingPerConnection?: number;
  /** Replies a client has not read yet, in bytes; past it the connection is closed. Default 8 MiB. */
  maxWriteBufferBytes?: number;
  /** Longest a service gets to answer, in ms; a request that asks for more gets this. Default 60,000 ms. */
  maxTimeoutMs?: number;
  /** How long a service gets to answer a request that names no timeout, in ms; at most `maxTimeoutMs`. Default 5,000 ms. */
  defaultTimeoutMs?: number;
}

/** Longest connection time limit accepted (24 hours): beyond it a limit is no limit. */
const MAX_CONNECTION_TIMEOUT_MS = 86_400_000;

export type ResolvedGatewayOptions = Required<GatewayOptions>;

export const GATEWAY_DEFAULTS = {
  throttle: true,
  highMarkMs: 15,
  lowMarkMs: 5,
  holdMs: 100,
  canaryPeriodMs: 10,
  windowMs: 1_000,
  pipelineAllowance: 1,
  maxFrameBytes: GATEWAY_MAX_FRAME_BYTES,
  maxConnections: 1_024,
  firstFrameTimeoutMs: 5_000,
  frameTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxOutstandingPerConnection: 1_024,
  minInFlight: 2,
  maxInFlight: 1_024,
  maxWriteBufferBytes: 8 * 1024 * 1024,
  maxTimeoutMs: 60_000,
  defaultTimeoutMs: 5_000,
} as const;

export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (typeof options !== 'object' || options === null) throw new HordeError(ErrorCode.INVALID_OPTION, 'startGateway: options must be an object');
  const listen = options.listen as unknown;
  if (typeof listen !== 'object' || listen === null) invalidOption('listen', 'an object {host, port}', listen);
  const { host, port } = listen as { host: unknown; port: unknown };
  if (typeof host !== 'string' || host.length === 0) invalidOption('listen.host', 'a non-empty string', host);
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65_535) invalidOption('listen.port', 'an integer from 0 to 65535', port);
  const resolved: ResolvedGatewayOptions = { ...GATEWAY_DEFAULTS, ...definedOnly(options), listen: { host, port: port as number } };
  if (typeof resolved.throttle !== 'boolean') invalidOption('throttle', 'a boolean', resolved.throttle);
  for (const name of ['highMarkMs', 'lowMarkMs', 'holdMs'] as const) {
    if (!isFiniteAtLeast(resolved[name], 0)) invalidOption(name, 'a finite number of ms >= 0', resolved[name]);
  }
  if (resolved.lowMarkMs > resolved.highMarkMs) invalidOption('lowMarkMs', `at most highMarkMs (${resolved.highMarkMs})`, resolved.lowMarkMs);
  for (const name of ['canaryPeriodMs', 'windowMs', 'maxTimeoutMs', 'defaultTimeoutMs'] as const) {
    if (!isFiniteAtLeast(resolved[name], 1)) invalidOption(name, 'a finite number of ms >= 1', resolved[name]);
  }
  for (const name of ['firstFrameTimeoutMs', 'frameTimeoutMs'] as const) {
    if (!isFiniteAtLeast(resolved[name], 1) || resolved[name] > MAX_CONNECTION_TIMEOUT_MS) invalidOption(name, `a number of ms from 1 to ${MAX_CONNECTION_TIMEOUT_MS}`, resolved[name]);
  }
  if (resolved.idleTimeoutMs !== 0 && (!isFiniteAtLeast(resolved.idleTimeoutMs, 1) || resolved.idleTimeoutMs > MAX_CONNECTION_TIMEOUT_MS)) {
    invalidOption('idleTimeoutMs', `0 (no limit) or a number of ms from 1 to ${MAX_CONNECTION_TIMEOUT_MS}`, resolved.idleTimeoutMs);
  }
  if (resolved.defaultTimeoutMs > resolved.maxTimeoutMs) invalidOption('defaultTimeoutMs', `at most maxTimeoutMs (${resolved.maxTimeoutMs})`, resolved.defaultTimeoutMs);
  if (!Number.isSafeInteger(resolved.minInFlight) || resolved.minInFlight < 1) invalidOption('minInFlight', 'a positive integer', resolved.minInFlight);
  if (!Number.isSafeInteger(resolved.maxInFlight) || resolved.maxInFlight < resolved.minInFlight) {
    invalidOption('maxInFlight', `an integer >= minInFlight (${resolved.minInFlight})`, resolved.maxInFlight);
  }
  for (const name of ['pipelineAllowance', 'maxConnections', 'maxOutstandingPerConnection', 'maxWriteBufferBytes'] as const) {
    if (!Number.isSafeInteger(resolved[name]) || resolved[name] < 1) invalidOption(name, 'a positive integer', resolved[name]);
  }
  if (!Number.isInteger(resolved.maxFrameBytes) || resolved.maxFrameBytes < 64 || resolved.maxFrameBytes > 0xffffffff) {
    invalidOption('maxFrameBytes', 'an integer from 64 to 2^32 - 1', resolved.maxFrameBytes);
  }
  return resolved;
}

function isFiniteAtLeast(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= min;
}

/** The options the caller set (an explicit `undefined` means "the default"). */
function definedOnly(options: GatewayOptions): Partial<GatewayOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
