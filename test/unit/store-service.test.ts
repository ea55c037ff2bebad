// The store's request service on its own (no threads): group commit with a savepoint per request,
// busy retries, cursor bounds and expiry, database bounds; and the TestKit and SimCluster, which
// have no store, answering store ops with HORDE_NO_STORE.
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster, TestKit, type IoReply, type IoRequest, type SqlRows } from '../../src/index.js';
import { StoreService, type StoreServiceOptions } from '../../src/store/service.js';
import { resolveStoreOptions, type StoreOptions } from '../../src/process/store-options.js';
import { behaviours } from '../fixtures/behaviours.js';

let dataDir = '';
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'horde-store-service-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function service(store: StoreOptions = {}, more: Partial<StoreServiceOptions> = {}): StoreService {
  return new StoreService({ dataDir, store: resolveStoreOptions(store, dataDir), ...more });
}

function codes(replies: IoReply[]): (string | true)[] {
  return replies.map((reply) => (reply.ok ? true : (reply.error.cause?.code ?? reply.error.code)));
}

describe('StoreService', () => {
  it('group-commits writes that arrive together: a failing one is rolled back alone, the rest share one commit', async () => {
    const store = service();
    await store.handleBatch([{ op: 'sql', db: 'group.db', sql: 'CREATE TABLE t (v INTEGER UNIQUE)' }]);
    const write = (v: number) => ({ op: 'sql', db: 'group.db', sql: 'INSERT INTO t VALUES (?)', params: [v], groupCommit: true });
    const replies = await store.handleBatch([
      write(1),
      write(2),
      write(1), // a duplicate of the first, in the same group
      { op: 'sqlTransaction', db: 'group.db', groupCommit: true, statements: [{ sql: 'INSERT INTO t VALUES (3)' }, { sql: 'INSERT INTO t VALUES (2)' }] },
      write(4),
    ]);
    expect(codes(replies)).toEqual([true, true, 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_UNIQUE', true]);
    const rows = await store.handleBatch([{ op: 'sql', db: 'group.db', sql: 'SELECT v FROM t ORDER BY v' }]);
    expect(rows[0]).toEqual({ ok: true, value: { rows: [{ v: 1 }, { v: 2 }, { v: 4 }] } });
    expect(store.status()).toMatchObject({ groupCommits: 1, transactions: 2, rollbacks: 2 });
    store.close();
  });

  it('keeps arrival order: a write not in the group, or a read, ends the group', async () => {
    const store = service();
    await store.handleBatch([{ op: 'sql', db: 'order.db', sql: 'CREATE TABLE t (v INTEGER)' }]);
    const replies = await store.handleBatch([
      { op: 'sql', db: 'order.db', sql: 'INSERT INTO t VALUES (1)', groupCommit: true },
      { op: 'sql', db: 'order.db', sql: 'SELECT count(*) AS n FROM t' },
      { op: 'sql', db: 'order.db', sql: 'INSERT INTO t VALUES (2)', groupCommit: true },
      { op: 'sql', db: 'order.db', sql: 'INSERT INTO t VALUES (3)' },
      { op: 'sql', db: 'order.db', sql: 'SELECT count(*) AS n FROM t' },
    ]);
    expect((replies[1] as { value: SqlRows }).value.rows).toEqual([{ n: 1 }]);
    expect((replies[4] as { value: SqlRows }).value.rows).toEqual([{ n: 3 }]);
    expect(store.status()).toMatchObject({ groupCommits: 0, transactions: 4 });
    store.close();
  });

  it('retries a locked database until the lock is gone, counting each retry', async () => {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { exec(sql: string): void; close(): void };
    let sleeps = 0;
    // Each wait releases nothing until the third: then the other connection commits.
    const store = service({ busyTimeoutMs: 60_000 }, {
      sleep: () => {
        if (++sleeps === 3) other.exec('COMMIT');
      },
    });
    await store.handleBatch([{ op: 'sql', db: 'busy.db', sql: 'CREATE TABLE t (v INTEGER)' }]);
    const other = new Database(join(dataDir, 'busy.db'));
    other.exec('BEGIN IMMEDIATE');
    other.exec('INSERT INTO t VALUES (1)');
    const replies = await store.handleBatch([{ op: 'sqlTransaction', db: 'busy.db', statements: [{ sql: 'INSERT INTO t VALUES (2)' }, { sql: 'SELECT count(*) AS n FROM t' }] }]);
    other.close();
    expect(replies[0]).toEqual({ ok: true, value: [{ changes: 1, lastInsertRowid: 2 }, { rows: [{ n: 2 }] }] });
    expect(store.status().busyRetries).toBe(3);
    store.close();
  });

  it('bounds cursors: more than maxCursors is HORDE_OVERLOADED, an idle one expires, a finished one is gone', async () => {
    let now = 0;
    const store = service({ maxCursors: 1, cursorIdleMs: 1000, maxRowsPerAnswer: 10 }, { now: () => now });
    await store.handleBatch([
      { op: 'sql', db: 'cursors.db', sql: 'CREATE TABLE t (v INTEGER)' },
      { op: 'sql', db: 'cursors.db', sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25) INSERT INTO t SELECT x FROM c' },
    ]);
    const query = { op: 'sql', db: 'cursors.db', sql: 'SELECT v FROM t ORDER BY v' };
    const [first] = await store.handleBatch([query]);
    const cursor = (first as { value: SqlRows }).value.cursor!;
    expect(codes(await store.handleBatch([query]))).toEqual([ErrorCode.OVERLOADED]);
    // A query that fits one answer needs no cursor.
    expect(codes(await store.handleBatch([{ ...query, sql: 'SELECT v FROM t WHERE v <= 10' }]))).toEqual([true]);
    now = 999;
    const [second] = await store.handleBatch([{ op: 'sqlNext', cursor }]);
    expect((second as { value: SqlRows }).value).toMatchObject({ rows: Array.from({ length: 10 }, (_, i) => ({ v: 11 + i })), cursor });
    now = 1999;
    expect(codes(await store.handleBatch([{ op: 'sqlNext', cursor }]))).toEqual([ErrorCode.CURSOR_EXPIRED]);
    expect(store.status().cursors).toBe(0);
    // Read to the end: the last page has no cursor, and the cursor is gone.
    const [again] = await store.handleBatch([query]);
    const next = (again as { value: SqlRows }).value.cursor!;
    await store.handleBatch([{ op: 'sqlNext', cursor: next }]);
    const [last] = await store.handleBatch([{ op: 'sqlNext', cursor: next }]);
    expect((last as { value: SqlRows }).value).toEqual({ rows: [21, 22, 23, 24, 25].map((v) => ({ v })) });
    expect(codes(await store.handleBatch([{ op: 'sqlNext', cursor: next }]))).toEqual([ErrorCode.CURSOR_EXPIRED]);
    store.close();
  });

  it('runs a PRAGMA sent alone on the write connection, outside a transaction, so its setting applies to later writes', async () => {
    const store = service();
    const replies = await store.handleBatch([
      { op: 'sql', db: 'fk.db', sql: 'PRAGMA foreign_keys = ON' },
      { op: 'sql', db: 'fk.db', sql: 'CREATE TABLE parent (id INTEGER PRIMARY KEY)' },
      { op: 'sql', db: 'fk.db', sql: 'CREATE TABLE child (parent INTEGER REFERENCES parent (id))' },
      { op: 'sql', db: 'fk.db', sql: 'INSERT INTO child VALUES (5)' },
      { op: 'sql', db: 'fk.db', sql: 'PRAGMA foreign_keys' },
    ]);
    expect(codes(replies)).toEqual([true, true, true, 'SQLITE_CONSTRAINT_FOREIGNKEY', true]);
    expect(replies[4]).toEqual({ ok: true, value: { rows: [{ foreign_keys: 1 }] } });
    store.close();
  });

  it('bounds open databases and refuses malformed requests without stopping', async () => {
    const store = service({ maxDatabases: 2 });
    const replies = await store.handleBatch([
      { op: 'sql', db: 'one.db', sql: 'SELECT 1 AS x' },
      { op: 'sql', db: 'two.db', sql: 'SELECT 1 AS x' },
      { op: 'sql', db: './one.db', sql: 'SELECT 2 AS x' }, // the same file as one.db
      { op: 'sql', db: 'three.db', sql: 'SELECT 1 AS x' },
      { op: 'sql', db: 'one.db' },
      { op: 'sqlTransaction', db: 'one.db', statements: [] },
      { op: 'sql', db: 'one.db', sql: 'SELECT 1', params: 'x' },
      { op: 'nope' },
      null,
    ]);
    expect(codes(replies)).toEqual([
      true,
      true,
      true,
      ErrorCode.OVERLOADED,
      ErrorCode.INVALID_IO_REQUEST,
      ErrorCode.INVALID_IO_REQUEST,
      ErrorCode.INVALID_IO_REQUEST,
      ErrorCode.INVALID_IO_REQUEST,
      ErrorCode.INVALID_IO_REQUEST,
    ]);
    expect(store.status()).toMatchObject({ databases: 2, served: 3, errors: 6 });
    store.close();
  });
});

describe('where no store runs', () => {
  it('the TestKit answers store ops with HORDE_NO_STORE, even with an io handler', () => {
    const kit = new TestKit({ behaviours, shards: 1, io: (request) => ({ ok: true, value: request.op }) });
    const client = kit.spawn<IoRequest>('io-client');
    expect(kit.ask(client, { op: 'sql', db: 'a.db', sql: 'SELECT 1' })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_STORE } });
    expect(kit.ask(client, { op: 'stat', path: '.' })).toMatchObject({ ok: true, value: 'stat' });
  });

  it('a SimCluster answers store ops with HORDE_NO_STORE, disks or not', async () => {
    const cluster = await SimCluster.start({ behaviours, nodes: 1, seed: 1, disks: true });
    const client = cluster.spawn<IoRequest>(1, 'io-client');
    expect(await cluster.ask(1, client, { op: 'sqlTransaction', db: 'a.db', statements: [{ sql: 'SELECT 1' }] })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_STORE } });
    await cluster.stop();
  });
});
