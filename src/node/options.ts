// startNode's options: defaults, and validation at the facade with errors that name the option.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { invalidOption } from '../errors.js';
import { MAX_SHARDS } from '../process/pid.js';
import { DEFAULT_SPIN_CHECKS } from '../ring/inbound.js';
import { MAX_RING_CAPACITY, MIN_RING_CAPACITY } from '../ring/layout.js';
import { DEFAULT_MAILBOX_LIMIT, DEFAULT_TURN_BUDGET } from '../executor/shard.js';
import { preloadWithTypeScript, type TypeScriptMode } from '../internal/typescript-loader.js';
import { parseAddress, resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from '../cluster/options.js';
import { resolveStoreOptions, type ResolvedStoreOptions, type StoreOptions } from '../process/store-options.js';

/** maxMessageBytes: default 64 MiB; from 4 KiB to 1 GiB (V8 strings stop at about 512 MiB of text anyway). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 << 20;
const MIN_MAX_MESSAGE_BYTES = 4096;
const MAX_MAX_MESSAGE_BYTES = 1 << 30;

/**
 * Options of `startNode`, all optional. Each is validated when the node starts: a bad one rejects
 * with HORDE_INVALID_OPTION naming it.
 */
export interface NodeOptions {
  /**
   * Behaviour modules (URLs, file URLs or absolute paths) every executor loads. Default: none (a
   * node that only routes, runs a gateway or seeds the cluster; the built-in kinds still run).
   */
  behaviours?: (string | URL)[];
  /** Executor worker threads. Default: available cores minus one, at least one. */
  executors?: number;
  /** Modules each worker that loads user modules imports first (loaders, instrumentation). */
  preload?: (string | URL)[];
  /**
   * TypeScript modules in the workers. 'auto' (default): when the application runs under tsx, or
   * a module is TypeScript, every worker that loads user modules registers the application's tsx
   * first (HORDE_TYPESCRIPT_LOADER when none is installed). 'tsx': always do so (a JavaScript
   * module that imports TypeScript). 'off': never (a preload module registers a loader).
   */
  typescript?: TypeScriptMode;
  /** Bytes of each ring between two threads (power of two). Default 1 MiB. */
  ringCapacity?: number;
  /** Units a turn may spend (one per message handled, one per send, spawn or signal) before the next process runs. Default 64. */
  budget?: number;
  /** Messages a process's mailbox may hold; past it the process ends with 'mailbox_overflow'. Default 1,000,000. */
  mailboxLimit?: number;
  /** Envelopes a thread keeps per destination while that ring is full. Default 65,536. */
  overflowLimit?: number;
  /**
   * The largest message between two threads (or arriving from a peer node), as its encoded
   * envelope (40-byte header and payload); a larger one is refused at the sender with
   * HORDE_MESSAGE_TOO_LARGE. Messages larger than a ring record travel in chunks. Also the bytes
   * a thread keeps per destination while that ring is full. Default 64 MiB.
   */
  maxMessageBytes?: number;
  /** Spin checks before an idle executor parks. Default DEFAULT_SPIN_CHECKS. */
  spin?: number;
  /** Default `ask` timeout in ms. Default 5000. */
  askTimeoutMs?: number;
  /** A receive running longer than this is reported (metric and warning). Default 1000 ms. */
  longReceiveMs?: number;
  /** Heap limits for each executor (an executor that exceeds them is replaced). */
  resourceLimits?: ResourceLimits;
  /** Replace an executor that dies. Default true. */
  restartExecutors?: boolean;
  /** Restarts of one service thread (the poller, the file worker, the store thread) allowed within `serviceRestartPeriodMs`; one more stops the node. Default 5. */
  serviceRestartIntensity?: number;
  /** The window of `serviceRestartIntensity`, in ms. Default 60,000. */
  serviceRestartPeriodMs?: number;
  /** The directory every file request and durable log of processes is confined to. Default: none (file requests fail with HORDE_NO_DATA_DIR). */
  dataDir?: string;
  /** Modules exporting `tasks` (an object of functions) that `ctx.compute` may run. */
  computeModules?: (string | URL)[];
  /** Threads of the compute pool. Default: cores - 1, at least 1. */
  computeThreads?: number;
  /** Join a cluster: the main thread runs the cluster server (see ClusterOptions). Default: a standalone node. */
  cluster?: ClusterOptions;
  /** Start the store thread: SQLite databases in `dataDir` (see StoreOptions; `{}` for the defaults). Default: none (store requests fail with HORDE_NO_STORE). */
  store?: StoreOptions;
  /** Serve `/metrics` in the Prometheus text format (see MetricsOptions). Default: no metrics endpoint. */
  metrics?: MetricsOptions;
}

/** The `metrics` option of `startNode`: where the node serves `/metrics`. */
export interface MetricsOptions {
  /** `"HOST:PORT"` to listen on (port 0: a free port, see `node.metricsAddress`). */
  listen: string;
}

export interface ResolvedOptions {
  behaviours: string[];
  executors: number;
  preload: string[];
  ringCapacity: number;
  budget: number;
  mailboxLimit: number;
  overflowLimit: number;
  maxMessageBytes: number;
  spin: number;
  askTimeoutMs: number;
  longReceiveMs: number;
  resourceLimits: ResourceLimits | undefined;
  restartExecutors: boolean;
  serviceRestartIntensity: number;
  serviceRestartPeriodMs: number;
  dataDir: string | undefined;
  computeModules: string[];
  computeThreads: number;
  cluster: ResolvedClusterOptions | undefined;
  /** The store thread's options; undefined: no store thread. */
  store: ResolvedStoreOptions | undefined;
  /** Where `/metrics` listens, or undefined for no endpoint. */
  metrics: { host: string; port: number } | undefined;
  /** The `node` field of this node's pids: 0 standalone, the cluster's node number otherwise. */
  nodeId: number;
}

function moduleSpecifier(option: string, value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string' || value.length === 0) return invalidOption(option, 'a module URL or absolute path', value);
  if (value.startsWith('/')) return pathToFileURL(value).href;
  try {
    return new URL(value).href;
  } catch (error) {
    return invalidOption(option, `a module URL or absolute path (${String(error)})`, value);
  }
}

function resolveDataDir(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) return invalidOption('dataDir', 'a directory path', value);
  return resolve(value);
}

function resolveMetrics(value: unknown): { host: string; port: number } | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return invalidOption('metrics', 'an object { listen: "HOST:PORT" }', value);
  return parseAddress('metrics.listen', (value as { listen?: unknown }).listen, 0);
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return invalidOption(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function resolveOptions(options: NodeOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) return invalidOption('options', 'an object', options);
  if (options.behaviours !== undefined && !Array.isArray(options.behaviours)) return invalidOption('behaviours', 'an array of module URLs', options.behaviours);
  if (options.preload !== undefined && !Array.isArray(options.preload)) return invalidOption('preload', 'an array of module URLs', options.preload);
  if (options.computeModules !== undefined && !Array.isArray(options.computeModules)) {
    return invalidOption('computeModules', 'an array of module URLs', options.computeModules);
  }
  const capacity = integer('ringCapacity', options.ringCapacity, 1 << 20, MIN_RING_CAPACITY, MAX_RING_CAPACITY);
  if ((capacity & (capacity - 1)) !== 0) return invalidOption('ringCapacity', 'a power of two', capacity);
  if (options.restartExecutors !== undefined && typeof options.restartExecutors !== 'boolean') {
    return invalidOption('restartExecutors', 'a boolean', options.restartExecutors);
  }
  const cluster = options.cluster === undefined ? undefined : resolveClusterOptions(options.cluster);
  const dataDir = resolveDataDir(options.dataDir);
  const store = resolveStoreOptions(options.store, dataDir);
  const behaviours = (options.behaviours ?? []).map((value, i) => moduleSpecifier(`behaviours[${i}]`, value));
  const computeModules = (options.computeModules ?? []).map((value, i) => moduleSpecifier(`computeModules[${i}]`, value));
  const preload = (options.preload ?? []).map((value, i) => moduleSpecifier(`preload[${i}]`, value));
  const userModules = [
    ...behaviours.map((url, i) => ({ option: `behaviours[${i}]`, url })),
    ...computeModules.map((url, i) => ({ option: `computeModules[${i}]`, url })),
    ...preload.map((url, i) => ({ option: `preload[${i}]`, url })),
  ];
  return {
    cluster,
    metrics: resolveMetrics(options.metrics),
    nodeId: cluster?.nodeId ?? 0,
    behaviours,
    executors: integer('executors', options.executors, Math.max(1, availableParallelism() - 1), 1, Math.min(MAX_SHARDS, 256)),
    preload: preloadWithTypeScript(options.typescript, userModules, preload),
    ringCapacity: capacity,
    budget: integer('budget', options.budget, DEFAULT_TURN_BUDGET, 1, 1_000_000),
    mailboxLimit: integer('mailboxLimit', options.mailboxLimit, DEFAULT_MAILBOX_LIMIT, 1, 1 << 30),
    overflowLimit: integer('overflowLimit', options.overflowLimit, 65_536, 1, 1 << 24),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, MIN_MAX_MESSAGE_BYTES, MAX_MAX_MESSAGE_BYTES),
    spin: integer('spin', options.spin, DEFAULT_SPIN_CHECKS, 0, 10_000_000),
    askTimeoutMs: integer('askTimeoutMs', options.askTimeoutMs, 5000, 1, 2_147_483_647),
    longReceiveMs: integer('longReceiveMs', options.longReceiveMs, 1000, 10, 2_147_483_647),
    resourceLimits: options.resourceLimits,
    restartExecutors: options.restartExecutors ?? true,
    serviceRestartIntensity: integer('serviceRestartIntensity', options.serviceRestartIntensity, 5, 0, 1_000_000),
    serviceRestartPeriodMs: integer('serviceRestartPeriodMs', options.serviceRestartPeriodMs, 60_000, 1, 2_147_483_647),
    dataDir,
    store,
    computeModules,
    computeThreads: integer('computeThreads', options.computeThreads, 0, 0, 256),
  };
}
