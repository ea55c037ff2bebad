// checkLinearizable on histories of thousands of operations from a real concurrent run: a node
// with two executors runs two key-value store processes (test/fixtures/kv-behaviours.ts), and
// concurrent clients on the main thread ask them to get, put, delete and compare-and-swap keys,
// recording call and return times on a monotonic clock. A few requests answer only after their
// ask timed out, so their outcome is unknown to the client although they took effect. The
// history must be linearizable; a stale read planted in it must be found.
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

/** One client: `OPS_PER_CLIENT` requests in sequence, each recorded with its call and return times. */
async function client(id: number, stores: Pid[], into: Op[]): Promise<void> {
  const random = seededRandom(1000 + id);
  let written = 0;
  for (let i = 0; i < OPS_PER_CLIENT; i++) {
    const keyIndex = randomInt(random, 0, KEYS.length - 1);
    const key = KEYS[keyIndex]!;
    const store = stores[keyIndex % stores.length]!;
    // Every value written is unique, so a read names the write it saw.
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
    const late = randomInt(random, 1, LATE_ONE_IN) === 1;
    const request: KvStoreRequest =
      input.op === 'cas' ? { ...input, expected: input.expected ?? null } : { ...input };
    if (late) request.replyAfterMs = LATE_REPLY_MS;
    const call = performance.now();
    try {
      const answer = await node.ask<KvStoreAnswer>(store, request, late ? { timeoutMs: LATE_ASK_TIMEOUT_MS } : { timeoutMs: 60_000 });
      const ret = performance.now();
      const output = typeof answer === 'object' ? answer.value : answer === 'ok' ? undefined : answer;
      if (input.op === 'get' && typeof output === 'string') lastSeen.set(key, output);
      into.push({ clientId: id, input, call, return: ret, output });
    } catch (error) {
      if (!(error instanceof HordeError) || error.code !== ErrorCode.TIMEOUT) throw error;
      into.push({ clientId: id, input, call });
    }
  }
}

beforeAll(async () => {
  node = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2 });
  const stores = [await node.spawn('kv-store', undefined, { shard: 0 }), await node.spawn('kv-store', undefined, { shard: 1 })];
  history = [];
  await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id, stores, history)));
});

afterAll(async () => {
  await node?.stop();
});

describe('checkLinearizable on a real concurrent run', () => {
  it('finds the history of thousands of concurrent asks to key-value stores linearizable', () => {
    expect(history).toHaveLength(CLIENTS * OPS_PER_CLIENT);
    // The clients really overlapped: some operation was called before another had returned.
    const overlapping = history.filter((op, i) => history.some((other, j) => j !== i && other.call < op.call && (other.return ?? Infinity) > op.call));
    expect(overlapping.length).toBeGreaterThan(0);
    expect(history.some((op) => op.return === undefined)).toBe(true);
    expect(history.some((op) => op.input.op === 'cas' && op.output === true)).toBe(true);
    const result = checkLinearizable(history, model);
    expect(result.ok, describeLinearizability(result, model)).toBe(true);
    expect(result).toMatchObject({ parts: KEYS.length });
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
});
