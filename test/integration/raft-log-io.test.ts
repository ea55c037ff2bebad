// The Raft log store through a real node's ctx.io: a process appends, reads, compacts and loads a
// Raft group's log on the file worker; after the node stops, a new node on the same data directory
// finds what was acknowledged.
import { describe, expect, it } from 'vitest';
import type { IoRequest } from '../../src/process/io.js';
import { testNodes } from '../support/nodes.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const { node } = testNodes('horde-raft-io-', { behaviours: [behaviours], preload: [preload], executors: 1 });

type IoAnswer = { ok: boolean; value: unknown; error?: { code: string; message: string } };
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('Raft log requests (ctx.io)', () => {
  it('append, read, compact and load through the file worker survive a node restart', async () => {
    let n = await node();
    let client = await n.spawn<IoRequest>('io-client');
    const io = (request: IoRequest): Promise<IoAnswer> => n.ask<IoAnswer>(client, request);
    const entries = ['a', 'b', 'c', 'd'].map((s) => ({ term: 1, data: bytes(s) }));
    expect(await io({ op: 'raftAppend', group: 'orders', firstIndex: 1, entries, hardState: { term: 1, vote: 'n1', commit: 0 } })).toMatchObject({ ok: true, value: { lastIndex: 4 } });
    expect(await io({ op: 'raftAppend', group: 'orders', firstIndex: 4, entries: [{ term: 2, data: bytes('D') }] })).toMatchObject({ ok: true, value: { lastIndex: 4 } });
    const read = await io({ op: 'raftRead', group: 'orders', from: 2 });
    expect((read.value as { entries: { term: number; data: Uint8Array }[] }).entries.map((e) => `${e.term}:${new TextDecoder().decode(e.data)}`)).toEqual(['1:b', '1:c', '2:D']);
    expect(await io({ op: 'raftCompact', group: 'orders', index: 2, term: 1, snapshot: 'state@2' })).toMatchObject({ ok: true });
    expect(await io({ op: 'raftAppend', group: 'orders', firstIndex: 9, entries })).toMatchObject({ ok: false, error: { code: 'HORDE_RAFT_INDEX' } });
    expect(await io({ op: 'raftAppend', group: '../x', firstIndex: 1, entries })).toMatchObject({ ok: false, error: { code: 'HORDE_INVALID_OPTION' } });
    await n.stop();

    n = await node();
    client = await n.spawn<IoRequest>('io-client');
    expect(await io({ op: 'raftGroups' })).toMatchObject({ ok: true, value: ['orders'] });
    expect(await io({ op: 'raftLoad', group: 'orders' })).toMatchObject({
      ok: true,
      value: { hardState: { term: 1, vote: 'n1', commit: 0 }, snapshot: { index: 2, term: 1 }, firstIndex: 3, lastIndex: 4 },
    });
    const snapshot = await io({ op: 'raftSnapshot', group: 'orders' });
    expect(new TextDecoder().decode((snapshot.value as { data: Uint8Array }).data)).toBe('state@2');
  });
});
