// The main thread's own figures on `/metrics`: event-loop delay (perf_hooks' histogram, reset at each scrape), heap, CPU and memory.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The event-loop delay histogram's resolution, in ms (its sampling timer's period). */
const DELAY_RESOLUTION_MS = 10;
const NS_PER_S = 1e9;
const US_PER_S = 1e6;

/** Defines the main thread's families on `registry`; returns the stop of its delay monitor. */
export function defineMainThreadFamilies(registry: Registry): () => void {
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  new Gauge({
    name: 'horde_main_event_loop_delay_seconds',
    help: `Event-loop delay of the main thread (where the cluster server, gateways and node API run) since the previous scrape, sampled every ${DELAY_RESOLUTION_MS} ms: p50, p99 and max.`,
    labelNames: ['stat'],
    registers: [registry],
    collect() {
      this.reset();
      if (delay.count > 0) {
        this.set({ stat: 'p50' }, delay.percentile(50) / NS_PER_S);
        this.set({ stat: 'p99' }, delay.percentile(99) / NS_PER_S);
        this.set({ stat: 'max' }, delay.max / NS_PER_S);
      }
      delay.reset();
    },
  });
  new Gauge({
    name: 'horde_main_heap_used_bytes',
    help: 'V8 heap in use by the main thread.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: 'horde_process_resident_memory_bytes',
    help: 'Resident memory of the node process (every thread).',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Counter({
    name: 'horde_process_cpu_seconds_total',
    help: 'CPU time of the node process (every thread), user and system.',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      const usage = process.cpuUsage();
      this.reset();
      this.inc({ mode: 'user' }, usage.user / US_PER_S);
      this.inc({ mode: 'system' }, usage.system / US_PER_S);
    },
  });
  return () => delay.disable();
}
