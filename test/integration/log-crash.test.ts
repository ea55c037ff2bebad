// Crash safety of the durable log: a writer process appends as fast as it can and is killed with
// SIGKILL at a seeded random moment; the log is then checked byte by byte and reopened. Eight
// rounds extend the same log, so each round also appends after a recovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableLog } from '../../src/fileio/log.js';
import { DATA_SEED, rawScan, recordMismatch } from '../fixtures/log-records.js';
import { randomInt, seededRandom } from '../support/seeded.js';

const WRITER = fileURLToPath(new URL('../fixtures/log-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROUNDS = 8;
const BASE_SEED = 20_240_611;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'horde-log-crash-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Why `data` does not start with record `seq`'s own sequence number and size, or undefined. */
function headerMismatch(seq: number, data: Uint8Array): string | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 8 || view.getUint32(0, true) !== seq || view.getUint32(4, true) !== data.length) return `record ${seq}: wrong sequence number or size`;
  return undefined;
}

interface Run {
  ready: { records: number; truncatedBytes: number; appenders: number };
  acks: number[];
  signal: NodeJS.Signals | null;
}

/** Runs the writer, kills it `killAfterMs` after it is ready, and returns what it printed. */
function runWriter(seed: number, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let ready: Run['ready'] | undefined;
    let timer: NodeJS.Timeout | undefined;
    const startup = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (ready === undefined && out.includes('\n')) {
        const [, records, truncatedBytes, appenders] = /^ready (\d+) (\d+) (\d+)\n/.exec(out) ?? [];
        if (records === undefined) {
          reject(new Error(`writer said ${JSON.stringify(out.slice(0, 200))}`));
          child.kill('SIGKILL');
          return;
        }
        ready = { records: Number(records), truncatedBytes: Number(truncatedBytes), appenders: Number(appenders) };
        clearTimeout(startup);
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(startup);
      if (timer !== undefined) clearTimeout(timer);
      if (ready === undefined) {
        reject(new Error(`writer never became ready (signal ${String(signal)}): ${err}`));
        return;
      }
      // Only complete lines count: a line is printed after its append resolved.
      const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n').slice(1, -1);
      resolve({ ready, acks: lines.map(Number), signal });
    });
  });
}

describe('the durable log under SIGKILL', () => {
  it(`keeps every acknowledged record intact and in order, over ${ROUNDS} killed writers`, async () => {
    const path = join(dir, 'crash.log');
    let expectedRecords = 0;
    let tornTails = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const seed = BASE_SEED + round;
      const killAfterMs = randomInt(seededRandom(seed), 50, 400);
      const run = await runWriter(seed, killAfterMs);
      expect(run.signal).toBe('SIGKILL');
      // The writer's own recovery found what the previous check left: a clean log.
      expect(run.ready.records).toBe(expectedRecords);
      expect(run.ready.truncatedBytes).toBe(0);
      expect(run.acks.length).toBeGreaterThan(0);
      // Acknowledged in log order, numbered on from the records already there.
      run.acks.forEach((seq, i) => expect(seq).toBe(expectedRecords + i));

      // An independent parse of the raw file, by the documented layout.
      const raw = await readFile(path);
      const scan = rawScan(raw);
      const torn = raw.length - scan.validEnd;
      if (torn > 0) tornTails++;
      const lastAck = run.acks[run.acks.length - 1] ?? -1;
      expect(scan.records.length).toBeGreaterThan(lastAck);
      // Records of earlier rounds had their content checked in their round; their checksums (and
      // their sequence numbers) show they are unchanged. This round's are checked byte by byte.
      scan.records.forEach((record, seq) => {
        const mismatch = seq >= run.ready.records ? recordMismatch(DATA_SEED, seq, record.data) : headerMismatch(seq, record.data);
        if (mismatch !== undefined) expect.fail(`round ${round}: ${mismatch}`);
      });

      const log = await DurableLog.open(path);
      try {
        expect(log.recovery).toEqual({ records: scan.records.length, validBytes: scan.validEnd, truncatedBytes: torn });
        expect((await stat(path)).size).toBe(scan.validEnd);
        let offset = 0;
        let seq = 0;
        for (;;) {
          const { records, nextOffset } = await log.read(offset, 4096, 8 * 1024 * 1024);
          if (records.length === 0) break;
          for (const record of records) {
            const expected = scan.records[seq];
            expect(record.offset).toBe(expected?.offset);
            if (expected === undefined || !Buffer.from(record.data.buffer, record.data.byteOffset, record.data.length).equals(expected.data)) {
              expect.fail(`round ${round}: record ${seq} read back differs from the file`);
            }
            seq++;
          }
          offset = nextOffset;
        }
        expect(seq).toBe(scan.records.length);
      } finally {
        await log.close();
      }
      process.stderr.write(
        `[log-crash] round ${round}: ${run.ready.appenders} appenders killed after ${killAfterMs} ms; ${run.acks.length} acks (last ${lastAck}), ` +
          `${scan.records.length - 1 - lastAck} written but unacknowledged, torn tail ${torn} bytes, log ${scan.validEnd} bytes\n`,
      );
      expectedRecords = scan.records.length;
    }
    process.stderr.write(`[log-crash] ${tornTails} of ${ROUNDS} rounds left a torn tail\n`);
  });
});
