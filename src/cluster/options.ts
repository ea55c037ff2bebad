// The cluster part of startNode's options: defaults, and validation with errors that name the option.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { invalidOption } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../net/framing.js';
import { checkSecret } from './handshake-crypto.js';

/** Mutual TLS for cluster connections (option `cluster.tls`): every node presents a certificate the shared CA signed. */
export interface ClusterTls {
  /** PEM private key of this node's certificate. */
  key: string | Buffer;
  /** PEM certificate of this node, signed by `ca`. */
  cert: string | Buffer;
  /** PEM certificate of the CA that signed every node's certificate; a peer it did not sign fails with HORDE_TLS_FAILED. */
  ca: string | Buffer;
}

/**
 * The `cluster` option of `startNode`: join a cluster over a full TCP mesh. A bad value rejects
 * `startNode` with HORDE_INVALID_OPTION naming it (`cluster.heartbeatMs`, ...).
 */
export interface ClusterOptions {
  /** This node's name, unique in the cluster (1..255 bytes). */
  name: string;
  /** Where to listen: host and port (0 picks a free port). Default 127.0.0.1:0. */
  listen?: {
    /** Host name or address to listen on. Default 127.0.0.1. */
    host?: string;
    /** TCP port, 0 to 65535; 0 picks a free one. Default 0. */
    port?: number;
  };
  /**
   * The address ("host:port") peers are told to dial this node at: a container's or pod's own
   * address when it listens on 0.0.0.0 or ::. Port 0: the port it listens on. Default: the listen
   * address; a wildcard listen host without `advertise` is refused.
   */
  advertise?: string;
  /** Addresses to join ("host:port"); a DNS name may resolve to several addresses, re-resolved every seedRefreshMs. */
  seeds?: string[];
  /** The shared secret (at least 16 bytes). Required unless `insecure` on a loopback address. */
  secret?: string | Uint8Array;
  /** Run without a secret: only allowed when listening on loopback. */
  insecure?: boolean;
  /** Mutual TLS on every cluster connection (in addition to the secret). */
  tls?: ClusterTls;
  /** This node's number in pids (1..65535). Default: a hash of the name. */
  nodeId?: number;
  /** Heartbeat period in ms. Default 200. */
  heartbeatMs?: number;
  /** Phi above which a peer is suspect. Default 3. */
  suspectPhi?: number;
  /** Phi above which a peer is down (DOWN 'noconnection' fires). Default 8. */
  downPhi?: number;
  /** A handshake not done within this is closed. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Largest frame accepted after the handshake. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Bytes queued for one peer before the node stops reading the rings that feed it. Default 64 MiB. */
  maxPendingBytes?: number;
  /** Target size of one batch. Default 256 KiB. */
  batchBytes?: number;
  /** First delay of the reconnect backoff in ms (jittered, doubling). Default 50. */
  reconnectMinMs?: number;
  /** Longest delay of the reconnect backoff in ms; at least `reconnectMinMs`. Default 2000. */
  reconnectMaxMs?: number;
  /** How often seeds are re-resolved and re-dialled. Default 5000 ms. */
  seedRefreshMs?: number;
  /** Monitors and links tracked per peer. Default 1,000,000. */
  maxWatchesPerPeer?: number;
}

export interface ResolvedClusterOptions {
  name: string;
  host: string;
  port: number;
  /** What peers are told: `advertise`, or the listen address. Port 0: the port it listens on. */
  advertise: { host: string; port: number };
  seeds: string[];
  secret: Uint8Array;
  insecure: boolean;
  tls: ClusterTls | undefined;
  nodeId: number;
  heartbeatMs: number;
  suspectPhi: number;
  downPhi: number;
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
  maxPendingBytes: number;
  batchBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  seedRefreshMs: number;
  maxWatchesPerPeer: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** 0.0.0.0, ::, and other spellings of "every interface": an address no peer can dial. */
export function isWildcardHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv4(bare)) return bare.split('.').every((part) => Number(part) === 0);
  return isIPv6(bare) && /^[0:]+$/.test(bare);
}

function resolveAdvertise(value: unknown, host: string, port: number): { host: string; port: number } {
  if (value === undefined) {
    if (isWildcardHost(host)) {
      return invalidOption('cluster.advertise', `the "host:port" peers dial (horde node --advertise HOST:PORT): a node listening on ${host} cannot tell them its address`, undefined);
    }
    return { host, port };
  }
  const advertised = parseAddress('cluster.advertise', value, 0);
  if (isWildcardHost(advertised.host)) return invalidOption('cluster.advertise', 'a "host:port" another machine can dial (not a wildcard address)', value);
  return advertised;
}

function int(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return invalidOption(`cluster.${option}`, `an integer from ${min} to ${max}`, value);
  return value;
}

function num(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) return invalidOption(`cluster.${option}`, `a number >= ${min}`, value);
  return value;
}

/** FNV-1a of the name folded into 1..65535: every node computes the same number for a name. */
export function nodeIdFor(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % 0xffff) + 1;
}

/** "host:port" (IPv6 hosts in brackets) -> parts; throws HORDE_INVALID_OPTION naming `option`. */
export function parseAddress(option: string, value: unknown, minPort = 1): { host: string; port: number } {
  if (typeof value !== 'string') return invalidOption(option, 'a "host:port" string', value);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port < minPort || port > 65535) return invalidOption(option, `a "host:port" string with a port from ${minPort} to 65535`, value);
  return { host: (match[1] ?? match[2])!, port };
}

export function readSecretFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (typeof options !== 'object' || options === null) return invalidOption('cluster', 'an object', options);
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 255) return invalidOption('cluster.name', 'a string of 1 to 255 bytes', name);
  const host = options.listen?.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) return invalidOption('cluster.listen.host', 'a host name or address', host);
  const port = int('listen.port', options.listen?.port, 0, 0, 65535);
  const advertise = resolveAdvertise(options.advertise, host, port);
  const seeds = options.seeds ?? [];
  if (!Array.isArray(seeds)) return invalidOption('cluster.seeds', 'an array of "host:port" strings', seeds);
  seeds.forEach((seed, i) => parseAddress(`cluster.seeds[${i}]`, seed));
  if (options.insecure !== undefined && typeof options.insecure !== 'boolean') return invalidOption('cluster.insecure', 'a boolean', options.insecure);
  let secret: Uint8Array;
  if (options.secret === undefined) {
    if (options.insecure !== true) return invalidOption('cluster.secret', 'a shared secret of at least 16 bytes (or insecure: true on loopback)', undefined);
    if (!LOOPBACK.has(host)) return invalidOption('cluster.insecure', `allowed only when listening on loopback, not on ${host}`, true);
    secret = new TextEncoder().encode('horde-insecure-loopback-only');
  } else {
    if (typeof options.secret !== 'string' && !(options.secret instanceof Uint8Array)) return invalidOption('cluster.secret', 'a string or bytes', options.secret);
    secret = checkSecret(options.secret);
  }
  const tls = options.tls;
  if (tls !== undefined && (typeof tls !== 'object' || tls === null || tls.key === undefined || tls.cert === undefined || tls.ca === undefined)) {
    return invalidOption('cluster.tls', 'an object with key, cert and ca (PEM)', tls);
  }
  const suspectPhi = num('suspectPhi', options.suspectPhi, 3, 0.1);
  const downPhi = num('downPhi', options.downPhi, 8, 0.1);
  if (downPhi <= suspectPhi) return invalidOption('cluster.downPhi', `greater than suspectPhi (${suspectPhi})`, downPhi);
  const reconnectMinMs = int('reconnectMinMs', options.reconnectMinMs, 50, 1, 3_600_000);
  const batchBytes = int('batchBytes', options.batchBytes, 256 * 1024, 4096, 64 * 1024 * 1024);
  const maxFrameBytes = int('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 128 * 1024, 0xffffffff);
  return {
    name,
    host,
    port,
    advertise,
    seeds: [...seeds],
    secret,
    insecure: options.insecure === true,
    tls,
    nodeId: int('nodeId', options.nodeId, nodeIdFor(name), 1, 0xffff),
    heartbeatMs: int('heartbeatMs', options.heartbeatMs, 200, 5, 60_000),
    suspectPhi,
    downPhi,
    handshakeTimeoutMs: int('handshakeTimeoutMs', options.handshakeTimeoutMs, 5000, 10, 600_000),
    maxFrameBytes,
    maxPendingBytes: int('maxPendingBytes', options.maxPendingBytes, 64 * 1024 * 1024, batchBytes, 2 ** 40),
    batchBytes,
    reconnectMinMs,
    reconnectMaxMs: int('reconnectMaxMs', options.reconnectMaxMs, 2000, reconnectMinMs, 3_600_000),
    seedRefreshMs: int('seedRefreshMs', options.seedRefreshMs, 5000, 50, 3_600_000),
    maxWatchesPerPeer: int('maxWatchesPerPeer', options.maxWatchesPerPeer, 1_000_000, 1, 1 << 30),
  };
}
