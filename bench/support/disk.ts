// Disk benchmarks' common step between measurements.
import { open } from 'node:fs/promises';

/** Time the disk gets to go idle after a measurement's files were removed. */
const SETTLE_MS = 100;

/** Makes the removal of a measurement's files durable (fsyncs `dir`) and lets the disk go idle before the next one. */
export async function settle(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}
