/**
 * Suite `raftlog`: appends per second of the Raft log store (src/fileio/raft-log-store.ts: one
 * WAL shared by every group, group commit), beside the durable log's group-commit rate on the
 * same disk in the same run (the physical limit the Raft benchmark of issue 14 compares against).
 *
 * Cases: `append-1` (one appender) and `append-256` (256 concurrent appenders). Each appender
 * awaits its append before the next, so the appender count is the number of appends in flight.
 * Entries and records are 256 bytes.
 * - `horde`: RaftLogStore; appender k appends one entry at a time to its own group `g<k>` (256
 *   groups sharing one WAL, as the groups of a node do), with no hard state. WAL rolls at the
 *   default 64 MiB; no compaction inside the window (maxLiveBytes raised to 1 GiB for it).
 * - `durable-log`: DurableLog with group commit, one 256-byte record per append.
 * Each measurement gets a fresh directory: a warm-up (WARMUP_MS or WARMUP_BYTES), then a window
 * of MEASURE_MS or MEASURE_BYTES; the systems take turns for ROUNDS rounds and each reports its
 * median. Metric `appends_per_s`.
 */

import { settle } from './support/disk.js';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableLog } from '../src/fileio/log.js';
import { RaftLogStore } from '../src/fileio/raft-log-store.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';

const WARMUP_MS = 150;
const WARMUP_BYTES = 8 * 1024 * 1024;
const MEASURE_MS = 500;
const MEASURE_BYTES = 64 * 1024 * 1024;
const ROUNDS = 3;
const SIZE = 256;
const SYSTEMS = ['horde', 'durable-log'] as const;
type System = (typeof SYSTEMS)[number];
const CASES = [
  { name: 'append-1', appenders: 1 },
  { name: 'append-256', appenders: 256 },
];

function note(text: string): void {
  process.stderr.write(`[raftlog] ${text}\n`);
}

interface Target {
  /** Appends one entry (record) for appender `k`. */
  append: (k: number, data: Uint8Array) => Promise<unknown>;
  finish: () => Promise<string>;
}

async function target(system: System, dir: string, appenders: number): Promise<Target> {
  if (system === 'durable-log') {
    const log = await DurableLog.open(join(dir, 'durable.log'));
    return {
      append: (_k, data) => log.append(data),
      finish: async () => {
        await log.close();
        const { appends, fsyncs } = log.stats;
        return `${appends} appends in ${fsyncs} fsyncs (${(appends / Math.max(1, fsyncs)).toFixed(1)} per batch)`;
      },
    };
  }
  const store = await RaftLogStore.open(join(dir, 'raft'), { maxLiveBytes: 1024 * 1024 * 1024 });
  const next = Array.from({ length: appenders }, () => 1);
  return {
    append: (k, data) => store.append(`g${k}`, next[k]!++, [{ term: 1, data }]),
    finish: async () => {
      const { appends, fsyncs, generation } = store.stats;
      await store.close();
      return `last WAL file: ${appends} records in ${fsyncs} fsyncs (${(appends / Math.max(1, fsyncs)).toFixed(1)} per batch); generation ${generation}`;
    },
  };
}

async function measure(system: System, appenders: number, dir: string): Promise<{ rate: number; detail: string }> {
  const t = await target(system, dir, appenders);
  const data = new Uint8Array(SIZE).map((_, i) => (i * 7 + 1) & 0xff);
  const started = performance.now();
  let measureFrom = -1;
  let measureEnd = -1;
  let warmBytes = 0;
  let counted = 0;
  const appender = async (k: number): Promise<void> => {
    while (measureEnd < 0) {
      await t.append(k, data);
      const now = performance.now();
      if (measureFrom < 0) {
        warmBytes += SIZE;
        if (now - started >= WARMUP_MS || warmBytes >= WARMUP_BYTES) measureFrom = now;
      } else if (measureEnd < 0) {
        counted++;
        if (now - measureFrom >= MEASURE_MS || counted * SIZE >= MEASURE_BYTES) measureEnd = now;
      }
    }
  };
  await Promise.all(Array.from({ length: appenders }, (_, k) => appender(k)));
  const detail = await t.finish();
  return { rate: counted / ((measureEnd - measureFrom) / 1e3), detail };
}

export async function run(report: Report): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'horde-bench-raftlog-'));
  try {
    let n = 0;
    for (const c of CASES) {
      const rates = new Map<System, number[]>(SYSTEMS.map((system) => [system, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const system of SYSTEMS) {
          const dir = join(root, `${c.name}-${system}-${n++}`);
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir);
          const { rate, detail } = await measure(system, c.appenders, dir);
          rates.get(system)?.push(rate);
          note(`${c.name} ${system} round ${round}: ${Math.round(rate).toLocaleString('en-US')} appends/s; ${detail}`);
          await rm(dir, { recursive: true, force: true });
          await settle(root);
        }
      }
      for (const system of SYSTEMS) {
        report({ case: c.name, system, metric: 'appends_per_s', value: Math.round(median(rates.get(system) ?? [])) });
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
