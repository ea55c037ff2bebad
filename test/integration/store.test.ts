// The store thread on real nodes, through the public API: SQL from processes (ctx.io) and from the
// main thread, transactions, errors with SQLite's code, confinement to dataDir, paging, group
// commit, a store thread that dies, and data that survives a node restart.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, HordeError, startNode, type HordeNode, type IoRequest, type Pid, type SqlRows, type SqlRun } from '../../src/index.js';
import { testNodes } from '../support/nodes.js';
import { rejectsWithCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
// A short busy timeout, so that waiting for a database held locked ends soon.
const { node, dataDir } = testNodes('horde-store-', { behaviours: [behaviours], preload: [preload], executors: 2, store: { busyTimeoutMs: 200 } });

// One node for most tests (starting nodes is the slow part); each test uses its own database.
let shared: HordeNode | undefined;
beforeAll(async () => {
  shared = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2, dataDir: dataDir(), store: { busyTimeoutMs: 200 } });
});
afterAll(async () => {
  await shared?.stop();
});
const sharedNode = (): HordeNode => shared!;

type IoAnswer = { ok: boolean; value: unknown; error?: { code: string; message: string; cause?: { code: string } } };

function io(n: HordeNode, client: Pid<IoRequest>, request: IoRequest): Promise<IoAnswer> {
  return n.ask<IoAnswer>(client, request, { timeoutMs: 30_000 });
}

/** SQLite's code of a rejected store request (the cause of its HORDE_SQL_ERROR). */
async function sqliteCode(promise: Promise<unknown>): Promise<string> {
  const error = await rejectsWithCode(promise, ErrorCode.SQL_ERROR);
  expect(error.cause).toBeInstanceOf(HordeError);
  return (error.cause as HordeError).code;
}

async function count(n: HordeNode, db: string, table: string): Promise<number> {
  const answer = (await n.sql(db, `SELECT count(*) AS n FROM ${table}`)) as SqlRows;
  return answer.rows[0]!.n as number;
}

describe('the store thread', () => {
  it('runs statements with positional and named parameters, from a process and from the main thread', async () => {
    const n = sharedNode();
    const created = (await n.sql('basic.db', 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER, b BLOB)')) as SqlRun;
    expect(created).toEqual({ changes: 0, lastInsertRowid: 0 });
    expect(await n.sql('basic.db', 'INSERT INTO kv VALUES (?, ?, ?)', ['a', 1, new Uint8Array([1, 2, 3])])).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(await n.sql('basic.db', 'INSERT INTO kv (k, v) VALUES (:k, @v)', { k: 'b', v: 2 })).toEqual({ changes: 1, lastInsertRowid: 2 });

    const client = await n.spawn<IoRequest>('io-client', undefined, { shard: 1 });
    expect(await io(n, client, { op: 'sql', db: 'basic.db', sql: 'INSERT INTO kv (k, v) VALUES ($k, $v)', params: { k: 'c', v: 3 } })).toMatchObject({
      ok: true,
      value: { changes: 1, lastInsertRowid: 3 },
    });
    const read = await io(n, client, { op: 'sql', db: 'basic.db', sql: 'SELECT k, v FROM kv WHERE v >= ? ORDER BY k', params: [2] });
    expect(read).toMatchObject({ ok: true, value: { rows: [{ k: 'b', v: 2 }, { k: 'c', v: 3 }] } });
    expect((read.value as SqlRows).cursor).toBeUndefined();
    const blob = (await n.sql('basic.db', 'SELECT b FROM kv WHERE k = ?', ['a'])) as SqlRows;
    expect([...(blob.rows[0]!.b as Uint8Array)]).toEqual([1, 2, 3]);

    // A write with RETURNING answers its rows.
    expect(await n.sql('basic.db', 'UPDATE kv SET v = v * 10 WHERE k = ? RETURNING v', ['c'])).toEqual({ rows: [{ v: 30 }] });
    // The databases run in WAL mode with synchronous=FULL (2).
    expect(await n.sql('basic.db', 'PRAGMA journal_mode')).toEqual({ rows: [{ journal_mode: 'wal' }] });
    expect(await n.sql('basic.db', 'PRAGMA synchronous')).toEqual({ rows: [{ synchronous: 2 }] });

    const store = (await n.status()).services.store!;
    expect(store).toMatchObject({ errors: 0, restarts: 0 });
    expect(store.statements).toBeGreaterThanOrEqual(9);
  });

  it('rolls a transaction back whole when its third statement fails, and keeps serving', async () => {
    const n = sharedNode();
    await n.sql('tx.db', 'CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)');
    const before = (await n.status()).services.store!;
    const results = await n.sqlTransaction('tx.db', [
      { sql: 'INSERT INTO item (name) VALUES (?)', params: ['one'] },
      { sql: 'INSERT INTO item (name) VALUES (?)', params: ['two'] },
      { sql: 'SELECT name FROM item ORDER BY id' },
    ]);
    expect(results).toEqual([{ changes: 1, lastInsertRowid: 1 }, { changes: 1, lastInsertRowid: 2 }, { rows: [{ name: 'one' }, { name: 'two' }] }]);

    for (const third of [
      { sql: 'INSERT INTO item (name) VALUES (?)', params: ['one'] }, // a constraint violation
      { sql: 'INSERT INTO nowhere VALUES (1)' }, // an SQL error
      { sql: 'INSERT INTO item (name) VALUES (?)', params: [] }, // a parameter missing
    ]) {
      const failed = n.sqlTransaction('tx.db', [
        { sql: 'INSERT INTO item (name) VALUES (?)', params: ['three'] },
        { sql: 'UPDATE item SET name = ? WHERE id = 2', params: ['deux'] },
        third,
        { sql: 'INSERT INTO item (name) VALUES (?)', params: ['four'] },
      ]);
      expect(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_RANGE']).toContain(await sqliteCode(failed));
      expect(await n.sql('tx.db', 'SELECT id, name FROM item ORDER BY id')).toEqual({ rows: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }] });
    }
    // The store owns transactions: a BEGIN of the caller's is refused.
    expect(await sqliteCode(n.sql('tx.db', 'BEGIN'))).toBe('SQLITE_MISUSE');
    expect(await n.sql('tx.db', 'INSERT INTO item (name) VALUES (?)', ['three'])).toEqual({ changes: 1, lastInsertRowid: 3 });
    const after = (await n.status()).services.store!;
    expect([(after.errors as number) - (before.errors as number), (after.rollbacks as number) - (before.rollbacks as number)]).toEqual([4, 4]);
  });

  it('answers bad input with a clear code: constraint, syntax, unbindable parameter, a name leaving dataDir, no store', async () => {
    const n = sharedNode();
    await n.sql('errors.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await n.sql('errors.db', 'INSERT INTO t VALUES (1, ?)', ['x']);
    expect(await sqliteCode(n.sql('errors.db', 'INSERT INTO t VALUES (1, ?)', ['y']))).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(await sqliteCode(n.sql('errors.db', 'INSERT INTO t VALUES (2, NULL)'))).toBe('SQLITE_CONSTRAINT_NOTNULL');
    expect(await sqliteCode(n.sql('errors.db', 'SELEC * FROM t'))).toBe('SQLITE_ERROR');
    expect(await sqliteCode(n.sql('errors.db', 'SELECT 1; SELECT 2'))).toBe('SQLITE_MISUSE');
    expect(await sqliteCode(n.sql('errors.db', 'INSERT INTO t VALUES (3, ?)', [true as unknown as string]))).toBe('SQLITE_MISMATCH');
    expect(await sqliteCode(n.sql('errors.db', 'INSERT INTO t VALUES (3, :v)', { w: 'x' }))).toBe('SQLITE_RANGE');
    await rejectsWithCode(n.sql('../escape.db', 'SELECT 1'), ErrorCode.PATH_OUTSIDE_DATA_DIR);
    await rejectsWithCode(n.sql(join(dataDir(), 'abs.db'), 'SELECT 1'), ErrorCode.PATH_OUTSIDE_DATA_DIR);
    await rejectsWithCode(n.sql('a/../../escape.db', 'SELECT 1'), ErrorCode.PATH_OUTSIDE_DATA_DIR);
    await rejectsWithCode(n.sqlNext('no-such-cursor'), ErrorCode.CURSOR_EXPIRED);
    await rejectsWithCode(n.sql('errors.db', 'SELECT 1', undefined, { limit: 0 }), ErrorCode.INVALID_IO_REQUEST);

    // The same from a process, and nothing was applied.
    const client = await n.spawn<IoRequest>('io-client');
    const refused = await io(n, client, { op: 'sql', db: 'errors.db', sql: 'INSERT INTO t VALUES (1, ?)', params: ['z'] });
    expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.SQL_ERROR, cause: { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' } } });
    expect(await io(n, client, { op: 'sql', db: '../../etc/x.db', sql: 'SELECT 1' })).toMatchObject({ ok: false, error: { code: ErrorCode.PATH_OUTSIDE_DATA_DIR } });
    expect(await n.sql('errors.db', 'SELECT * FROM t')).toEqual({ rows: [{ id: 1, v: 'x' }] });
  });

  it('pages a 10,000-row result with a cursor', async () => {
    const n = sharedNode();
    await n.sql('big.db', 'CREATE TABLE big (id INTEGER PRIMARY KEY, label TEXT)');
    const filled = await n.sql('big.db', "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) INSERT INTO big SELECT x, 'row-' || x FROM c");
    expect(filled).toMatchObject({ changes: 10_000 });

    // From a process, 800 rows a page.
    const client = await n.spawn<IoRequest>('io-client');
    const ids: number[] = [];
    let answer = await io(n, client, { op: 'sql', db: 'big.db', sql: 'SELECT id, label FROM big ORDER BY id', limit: 800 });
    let pages = 1;
    for (;;) {
      expect(answer.ok).toBe(true);
      const page = answer.value as SqlRows;
      expect(page.rows.length).toBeLessThanOrEqual(800);
      for (const row of page.rows) {
        expect(row.label).toBe(`row-${String(row.id)}`);
        ids.push(row.id as number);
      }
      if (page.cursor === undefined) break;
      expect((await n.status()).services.store!.cursors).toBe(1);
      answer = await io(n, client, { op: 'sqlNext', cursor: page.cursor, limit: 800 });
      pages++;
    }
    expect(pages).toBe(13);
    expect(ids).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect((await n.status()).services.store!.cursors).toBe(0);

    // From the main thread with the default limit (maxRowsPerAnswer, 1,000); a closed cursor is gone.
    const first = (await n.sql('big.db', 'SELECT id FROM big ORDER BY id')) as SqlRows;
    expect(first.rows).toHaveLength(1000);
    const second = await n.sqlNext(first.cursor!);
    expect(second.rows[0]).toEqual({ id: 1001 });
    await n.sqlClose(second.cursor!);
    await rejectsWithCode(n.sqlNext(second.cursor!), ErrorCode.CURSOR_EXPIRED);
    // A query inside a transaction must fit one answer.
    await rejectsWithCode(n.sqlTransaction('big.db', [{ sql: 'DELETE FROM big WHERE id = 1' }, { sql: 'SELECT id FROM big' }]), ErrorCode.TOO_MANY_ROWS);
    expect(await count(n, 'big.db', 'big')).toBe(10_000);
  });

  it('group-commits 200 concurrent writes from 50 processes: all answered, all present', async () => {
    const n = sharedNode();
    await n.sql('group.db', 'CREATE TABLE event (id INTEGER PRIMARY KEY, writer INTEGER, seq INTEGER, UNIQUE (writer, seq))');
    const before = (await n.status()).services.store!;
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => n.spawn<IoRequest>('io-client', undefined, { shard: i % 2 })));
    const writes = clients.flatMap((client, writer) =>
      Array.from({ length: 4 }, (_, seq) => io(n, client, { op: 'sql', db: 'group.db', sql: 'INSERT INTO event (writer, seq) VALUES (?, ?)', params: [writer, seq], groupCommit: true })),
    );
    // One duplicate in the same stream: it fails alone, the writes grouped with it commit.
    const duplicate = io(n, clients[7]!, { op: 'sql', db: 'group.db', sql: 'INSERT INTO event (writer, seq) VALUES (?, ?)', params: [7, 0], groupCommit: true });
    const answers = await Promise.all(writes);
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, value: { changes: 1 } });
    expect(await duplicate).toMatchObject({ ok: false, error: { code: ErrorCode.SQL_ERROR, cause: { code: 'SQLITE_CONSTRAINT_UNIQUE' } } });
    expect(await count(n, 'group.db', 'event')).toBe(200);
    const pairs = (await n.sql('group.db', 'SELECT count(DISTINCT writer) AS writers, count(DISTINCT seq) AS seqs FROM event')) as SqlRows;
    expect(pairs.rows).toEqual([{ writers: 50, seqs: 4 }]);
    const store = (await n.status()).services.store!;
    // Writes that arrive together share commits: fewer commits than writes.
    expect((store.groupCommits as number) - (before.groupCommits as number)).toBeGreaterThanOrEqual(1);
    expect((store.transactions as number) - (before.transactions as number)).toBeLessThan(200);
  });

  it('retries a database another connection holds locked until busyTimeoutMs, then answers SQLITE_BUSY', async () => {
    const n = sharedNode();
    await n.sql('busy.db', 'CREATE TABLE t (v INTEGER)');
    const before = (await n.status()).services.store!.busyRetries as number;
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { exec(sql: string): void; close(): void };
    const other = new Database(join(dataDir(), 'busy.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      expect(await sqliteCode(n.sql('busy.db', 'INSERT INTO t VALUES (1)'))).toBe('SQLITE_BUSY');
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect((await n.status()).services.store!.busyRetries as number).toBeGreaterThan(before);
    expect(await n.sql('busy.db', 'INSERT INTO t VALUES (2)')).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(await count(n, 'busy.db', 't')).toBe(1);
  });

  it('is replaced when it dies: requests in flight answered HORDE_WORKER_EXITED, committed data still there', async () => {
    const n = sharedNode();
    const crashes: { name: string }[] = [];
    n.on('serviceCrashed', (crash: { name: string }) => crashes.push(crash));
    await n.sql('crash.db', 'CREATE TABLE t (v INTEGER)');
    await n.sqlTransaction('crash.db', Array.from({ length: 100 }, (_, i) => ({ sql: 'INSERT INTO t VALUES (?)', params: [i] })));
    const page = (await n.sql('crash.db', 'SELECT v FROM t', undefined, { limit: 10 })) as SqlRows;
    const client = await n.spawn<IoRequest>('io-client');

    // The thread stalls, then exits; requests sent meanwhile wait unread in its rings.
    n.failServiceThread('store', 2000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fromProcess = io(n, client, { op: 'sql', db: 'crash.db', sql: 'INSERT INTO t VALUES (-1)' });
    const fromMain = rejectsWithCode(n.sql('crash.db', 'INSERT INTO t VALUES (-2)'), ErrorCode.WORKER_EXITED);
    expect(await fromProcess).toMatchObject({ ok: false, error: { code: ErrorCode.WORKER_EXITED } });
    await fromMain;
    expect(crashes).toMatchObject([{ name: 'store' }]);

    // The replacement reopens the database: every committed row is there; the old cursor is gone.
    expect(await count(n, 'crash.db', 't')).toBe(100);
    await rejectsWithCode(n.sqlNext(page.cursor!), ErrorCode.CURSOR_EXPIRED);
    expect(await n.sql('crash.db', 'INSERT INTO t VALUES (100)')).toMatchObject({ changes: 1 });
    expect((await n.status()).services.store).toMatchObject({ restarts: 1, databases: 1, cursors: 0 });
  }, 30_000);

  it('keeps committed data across a node restart; a node without the store option answers HORDE_NO_STORE', async () => {
    const first = sharedNode();
    await first.sql('restart.db', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await first.sqlTransaction('restart.db', [
      { sql: 'INSERT INTO t (v) VALUES (?)', params: ['kept'] },
      { sql: 'INSERT INTO t (v) VALUES (?)', params: ['also kept'] },
    ]);
    await first.sql('nested/dir/other.db', 'CREATE TABLE o (v)');
    await first.stop();
    // Without the store option: no store thread, and store requests are answered HORDE_NO_STORE.
    const bare = await node({ store: undefined });
    expect((await bare.status()).services.store).toBeUndefined();
    await rejectsWithCode(bare.sql('restart.db', 'SELECT 1'), ErrorCode.NO_STORE);
    const bareClient = await bare.spawn<IoRequest>('io-client');
    expect(await io(bare, bareClient, { op: 'sqlTransaction', db: 'restart.db', statements: [{ sql: 'SELECT 1' }] })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_STORE } });
    await bare.stop();
    const second = await node();
    expect(await second.sql('restart.db', 'SELECT v FROM t ORDER BY id')).toEqual({ rows: [{ v: 'kept' }, { v: 'also kept' }] });
    expect(await second.sql('nested/dir/other.db', 'SELECT count(*) AS n FROM o')).toEqual({ rows: [{ n: 0 }] });
  });
});
