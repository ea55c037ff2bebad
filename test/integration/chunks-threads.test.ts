// Chunked records across real threads: a peer worker thread writes large envelopes (many times
// the ring, through Outbound, parking while it is full) between broken chunk streams; the main
// thread's endpoint (AsyncEndpoint, the reader of the main thread and the file worker, with the
// same reassembly the executors and the poller use) counts each broken stream as malformed,
// never throws, and delivers every good envelope whole and in order.
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import type { Envelope } from '../../src/codec/envelope.js';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { AsyncEndpoint } from '../../src/participant/async-endpoint.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import { createRing } from '../../src/ring/ring.js';
import { good, type ChunkWriterData } from '../support/chunk-envelopes.js';
import { nextMessage, startFixtureWorker } from '../support/workers.js';

const fixture = new URL('../fixtures/chunk-writer.ts', import.meta.url);
const running: Worker[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.terminate()));
});

describe('chunk streams from a peer thread', () => {
  it('counts broken streams as malformed and delivers the good envelopes around them whole and in order', async () => {
    const bell = Doorbell.create();
    const ring = createRing({ capacity: 1 << 16, consumerBell: bell });
    const maxMessageBytes = 4 << 20;
    const envelopes: Envelope[] = [];
    const malformed: unknown[] = [];
    const endpoint = new AsyncEndpoint(bell, [ring], [undefined], { overflowLimit: 100, maxMessageBytes }, {
      envelope: (envelope) => envelopes.push(envelope),
      malformed: (error) => malformed.push(error),
      dropped: () => undefined,
    });
    endpoint.start();
    // 64 KiB ring: a 1 MB envelope is 64 ring-fulls, written while this thread reads.
    const sizes = [10, 1_000_000, 20_000, 5, 3_000_000, 40_000, 7, 300_000];
    const data: ChunkWriterData = { ring, sizes, maxMessageBytes };
    const worker = startFixtureWorker(fixture, { ...data });
    running.push(worker);
    await nextMessage(worker, 'done');
    const deadline = Date.now() + 60_000;
    while (envelopes.length < sizes.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await endpoint.close();
    expect(envelopes.map((envelope) => envelope.payload)).toEqual(sizes.map((size, seq) => good(seq, size).payload));
    expect(malformed).toHaveLength(sizes.length);
    for (const error of malformed) {
      expect(error).toBeInstanceOf(HordeError);
      expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_ENVELOPE);
    }
  }, 90_000);
});
