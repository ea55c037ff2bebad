/**
 * Suite `fileio`: durable log appends per second (src/fileio/log.ts), every system measured in the
 * same run, on files in a fresh temp directory (removed afterwards).
 *
 * Cases `<record size>-<appenders>`: 64B-1, 64B-16, 64B-256, 4KB-1, 4KB-16, 4KB-256. Each appender
 * awaits its append before starting the next, so `appenders` is the number of appends in flight.
 * Each measurement gets a fresh file, a warm-up, then a window of MEASURE_MS or MEASURE_BYTES of
 * payload, whichever ends first; appends that complete inside the window are counted. After each, the file is flushed, removed and
 * the directory synced (outside the window), so no system pays for the previous one's writeback.
 * The systems of a case take turns for ROUNDS rounds (A B C A B C ...) and each reports its
 * median, so a slow spell of the VM's disk (or a neighbour's load) hits every system alike.
 *
 * Systems:
 * - `horde`: DurableLog with group commit (the default): every append acknowledged after fdatasync.
 * - `horde-fsync-each`: the same DurableLog with `groupCommit: false`: one write + one fdatasync
 *   per append. The same code, so the gap between the two is what batching is worth.
 * - `appendFileSync`: `fs.appendFileSync(path, record)` per append, no fsync at all: not durable,
 *   the ceiling of a naive write path (open, write, close per call) on this machine.
 *
 * Before the cases, a calibration on stderr: the latency of one 64-byte write + fdatasync on the
 * temp directory's file system. On the 2-core VM it is about 50 us (the host acknowledges
 * flushes from its cache); on a real SSD it is typically 0.5-2 ms and on a disk 5-10 ms, where
 * group commit matters far more than here.
 */

import { settle } from './support/disk.js';
import { appendFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableLog } from '../src/fileio/log.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';

const WARMUP_MS = 150;
const WARMUP_BYTES = 8 * 1024 * 1024;
const MEASURE_MS = 500;
const MEASURE_BYTES = 96 * 1024 * 1024;
/** Rounds per case; systems take turns within a round, and each reports its median round. */
const ROUNDS = 3;
const CALIBRATION_SYNCS = 300;

const CASES = [
  { name: '64B-1', size: 64, appenders: 1 },
  { name: '64B-16', size: 64, appenders: 16 },
  { name: '64B-256', size: 64, appenders: 256 },
  { name: '4KB-1', size: 4096, appenders: 1 },
  { name: '4KB-16', size: 4096, appenders: 16 },
  { name: '4KB-256', size: 4096, appenders: 256 },
] as const;

const SYSTEMS = ['horde', 'horde-fsync-each', 'appendFileSync'] as const;
type System = (typeof SYSTEMS)[number];

function note(text: string): void {
  process.stderr.write(`[fileio] ${text}\n`);
}

/** A system ready to append: `append` and a `finish` that closes it (and reports on stderr). */
interface Target {
  append: (record: Uint8Array) => Promise<unknown>;
  finish: () => Promise<string>;
}

async function target(system: System, path: string): Promise<Target> {
  switch (system) {
    case 'horde':
    case 'horde-fsync-each': {
      const log = await DurableLog.open(path, { groupCommit: system === 'horde' });
      return {
        append: (record) => log.append(record),
        finish: async () => {
          await log.close();
          const { appends, fsyncs, maxBatch } = log.stats;
          return `${appends} appends in ${fsyncs} fsyncs (${(appends / Math.max(1, fsyncs)).toFixed(1)} per batch, max ${maxBatch})`;
        },
      };
    }
    case 'appendFileSync':
      return {
        append: (record) => {
          appendFileSync(path, record);
          return Promise.resolve();
        },
        finish: async () => {
          await flushFile(path);
          return 'no fsync while measured';
        },
      };
  }
}

/**
 * Appends per second of `appenders` concurrent appenders. Warm-up: WARMUP_MS or WARMUP_BYTES,
 * whichever comes first; then the measured window: MEASURE_MS or MEASURE_BYTES, whichever comes
 * first. The byte caps keep the fast systems from writing gigabytes (appendFileSync of 4 KiB
 * records writes 1.4 GB/s here), whose writeback and removal then slowed whichever system ran
 * next by up to 10x on this VM.
 */
async function measure(system: System, size: number, appenders: number, path: string): Promise<{ rate: number; detail: string }> {
  const t = await target(system, path);
  const record = new Uint8Array(size).map((_, i) => (i * 7 + 1) & 0xff);
  const started = performance.now();
  let measureFrom = -1;
  let measureEnd = -1;
  let warmBytes = 0;
  let counted = 0;
  // The clock is read in the loop (not a timer): appendFileSync never yields to timers.
  const appender = async (): Promise<void> => {
    while (measureEnd < 0) {
      await t.append(record);
      const now = performance.now();
      if (measureFrom < 0) {
        warmBytes += size;
        if (now - started >= WARMUP_MS || warmBytes >= WARMUP_BYTES) measureFrom = now;
      } else if (measureEnd < 0) {
        counted++;
        if (now - measureFrom >= MEASURE_MS || counted * size >= MEASURE_BYTES) measureEnd = now;
      }
    }
  };
  await Promise.all(Array.from({ length: appenders }, () => appender()));
  const detail = await t.finish();
  return { rate: counted / ((measureEnd - measureFrom) / 1e3), detail };
}

/**
 * fsyncs a file after its measurement, outside the window. Without it the gigabytes appendFileSync
 * leaves dirty are written back during the next system's window, and on ext4 (data=ordered) the
 * next fsync's journal commit waits for them: fsync-each figures fell 3x depending on the order.
 */
async function flushFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Median latency of one 64-byte positional write + fdatasync, in microseconds. */
async function calibrate(dir: string): Promise<number> {
  const handle = await open(join(dir, 'calibrate.bin'), 'w+');
  try {
    const bytes = new Uint8Array(64).fill(1);
    const samples: number[] = [];
    for (let i = 0; i < CALIBRATION_SYNCS; i++) {
      const started = performance.now();
      await handle.write(bytes, 0, bytes.length, i * bytes.length);
      await handle.datasync();
      samples.push((performance.now() - started) * 1e3);
    }
    return median(samples);
  } finally {
    await handle.close();
  }
}

export async function run(report: Report): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'horde-bench-fileio-'));
  try {
    note(`files in ${dir}; one 64 B write + fdatasync takes ${(await calibrate(dir)).toFixed(0)} us (median of ${CALIBRATION_SYNCS})`);
    let file = 0;
    for (const c of CASES) {
      const rates = new Map<System, number[]>(SYSTEMS.map((system) => [system, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const system of SYSTEMS) {
          const path = join(dir, `${c.name}-${system}-${file++}.log`);
          const { rate, detail } = await measure(system, c.size, c.appenders, path);
          rates.get(system)?.push(rate);
          note(`${c.name} ${system} round ${round}: ${Math.round(rate).toLocaleString('en-US')} appends/s; ${detail}`);
          await rm(path, { force: true });
          await settle(dir);
        }
      }
      for (const system of SYSTEMS) {
        report({ case: c.name, system, metric: 'appends_per_s', value: Math.round(median(rates.get(system) ?? [])) });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
