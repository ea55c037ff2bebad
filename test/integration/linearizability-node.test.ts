// checkLinearizable on histories of thousands of operations from a real concurrent run: a node
// with two executors runs two key-value store processes (test/fixtures/kv-behaviours.ts), and
// concurrent clients on the main thread ask them to get, put, delete and compare-and-swap keys,
// recording call and return times on a monotonic clock. A few requests answer only after their
// ask timed out, so their outcome is unknown to the client although they took effect. The
// history must be linearizable; a stale read planted in it must be found; and the history of a
// store with a real bug (writes applied one request late) must be rejected.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  HordeError,
  checkLinearizable,
  describeLinearizability,
  kvModel,
  startNode,
  type HistoryOperation,
  type HordeNode,
  type KvInput,
  type KvOutput,
  type Pid,
} from '../../src/index.js';
import type { KvStoreAnswer, KvStoreRequest } from '../fixtures/kv-behaviours.js';
import { randomInt, seededRandom } from '../support/seeded.js';

type Op = HistoryOperation<KvInput<string, string>, KvOutput<string>>;

const behaviours = new URL('../fixtures/kv-behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const CLIENTS = 8;
const OPS_PER_CLIENT = 500;
/** Keys every client uses; each client also has a key of its own. */
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Requests answered only after the client gave up: 1 in this many. */
const LATE_ONE_IN = 100;
const LATE_REPLY_MS = 300;
const LATE_ASK_TIMEOUT_MS = 50;

const model = kvModel<string, string>();
let node: HordeNode;
let history: Op[];

/** The last value some client read per key: cas expects it, so some swaps succeed. */
const lastSeen = new Map<string, string | undefined>();

/** Asks `store` for `input`, recording the call and return times (no return: the ask timed out). */
async function record(clientId: number, store: Pid, input: KvInput<string, string>, late: boolean, into: Op[]): Promise<void> {
  const request: KvStoreRequest = input.op === 'cas' ? { ...input, expected: input.expected ?? null } : { ...input };
  if (late) request.replyAfterMs = LATE_REPLY_MS;
  const call = performance.now();
  try {
    const answer = await node.ask<KvStoreAnswer>(store, request, { timeoutMs: late ? LATE_ASK_TIMEOUT_MS : 60_000 });
    const ret = performance.now();
    const output = typeof answer === 'object' ? answer.value : answer === 'ok' ? undefined : answer;
    if (input.op === 'get' && typeof output === 'string') lastSeen.set(input.key, output);
    into.push({ clientId, input, call, return: ret, output });
  } catch (error) {
    if (!(error instanceof HordeError) || error.code !== ErrorCode.TIMEOUT) throw error;
    into.push({ clientId, input, call });
  }
}

/**
 * One client: a put and a get of its own key, then `ops` random requests on the shared keys and
 * its own, in sequence. Every value written is unique, so a read names the write it saw.
 */
async function client(id: number, stores: Pid[], ops: number, into: Op[]): Promise<void> {
  const random = seededRandom(1000 + id);
  const own = `own-${id}`;
  const keys = [...KEYS, own];
  const storeOf = (key: string): Pid => stores[keys.indexOf(key) % stores.length]!;
  let written = 0;
  await record(id, storeOf(own), { op: 'put', key: own, value: `${id}.${written++}` }, false, into);
  await record(id, storeOf(own), { op: 'get', key: own }, false, into);
  for (let i = 0; i < ops; i++) {
    const key = keys[randomInt(random, 0, keys.length - 1)]!;
    const value = `${id}.${written++}`;
    const roll = randomInt(random, 0, 9);
    const input: KvInput<string, string> =
      roll < 4
        ? { op: 'get', key }
        : roll < 7
          ? { op: 'put', key, value }
          : roll < 8
            ? { op: 'delete', key }
            : { op: 'cas', key, expected: lastSeen.get(key), value };
    await record(id, storeOf(key), input, randomInt(random, 1, LATE_ONE_IN) === 1, into);
  }
}

/** The history of `CLIENTS` concurrent clients against two stores of `kind`, one per executor. */
async function run(kind: string, ops: number): Promise<Op[]> {
  const stores = [await node.spawn(kind, undefined, { shard: 0 }), await node.spawn(kind, undefined, { shard: 1 })];
  const history: Op[] = [];
  lastSeen.clear();
  await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id, stores, ops, history)));
  return history;
}

beforeAll(async () => {
  node = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2 });
  history = await run('kv-store', OPS_PER_CLIENT);
});

afterAll(async () => {
  await node?.stop();
});

describe('checkLinearizable on a real concurrent run', () => {
  it('finds the history of thousands of concurrent asks to key-value stores linearizable', () => {
    expect(history).toHaveLength(CLIENTS * (OPS_PER_CLIENT + 2));
    // The clients really overlapped: some operation was called before another had returned.
    const overlapping = history.filter((op, i) => history.some((other, j) => j !== i && other.call < op.call && (other.return ?? Infinity) > op.call));
    expect(overlapping.length).toBeGreaterThan(0);
    expect(history.some((op) => op.return === undefined)).toBe(true);
    expect(history.some((op) => op.input.op === 'cas' && op.output === true)).toBe(true);
    const result = checkLinearizable(history, model);
    expect(result.ok, describeLinearizability(result, model)).toBe(true);
    expect(result).toMatchObject({ parts: KEYS.length + CLIENTS });
  });

  it('rejects the same history with a stale read planted in it, naming its key', () => {
    // A read that started after two completed writes in sequence to its key now answers the
    // first write's value: impossible, as values are unique and the second write came between.
    const puts = history.filter((op) => op.input.op === 'put' && op.return !== undefined);
    let planted: { read: Op; stale: string } | undefined;
    for (const first of puts) {
      const second = puts.find((op) => op.input.key === first.input.key && op.call > first.return!);
      const read = second && history.find((op) => op.input.op === 'get' && op.input.key === first.input.key && op.call > second.return!);
      if (read !== undefined && first.input.op === 'put') {
        planted = { read, stale: first.input.value };
        break;
      }
    }
    expect(planted).toBeDefined();
    const { read, stale } = planted!;
    const buggy = history.map((op) => (op === read ? { ...op, output: stale } : op));
    const result = checkLinearizable(buggy, model);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe(read.input.key);
    expect(result.prefix.some((op) => op.call === read.call && op.clientId === read.clientId)).toBe(false);
    expect(result.unplaced.length).toBeGreaterThan(0);
    expect(describeLinearizability(result, model)).toContain(`get "${read.input.key}"`);
  });

  it('rejects the history of a store that acknowledges writes before applying them', async () => {
    // Each client's own key: its put was acknowledged, and its next request, the get, reads the
    // old value. The random requests around it only add noise.
    const lagging = await run('kv-store-lagging', 150);
    const result = checkLinearizable(lagging, model);
    expect(result.ok, describeLinearizability(result, model)).toBe(false);
    if (result.ok !== false) return;
    expect(result.unplaced.length).toBeGreaterThan(0);
    expect(describeLinearizability(result, model)).toContain(`not linearizable: part ${String(result.partition)}`);
    // Checked alone, every client's own key fails the same way.
    for (let id = 0; id < CLIENTS; id++) {
      const own = lagging.filter((op) => op.input.key === `own-${id}`);
      expect(checkLinearizable(own, model).ok).toBe(false);
    }
  });
});
