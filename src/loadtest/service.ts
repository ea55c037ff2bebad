// The load test's benchmark service: a process that spends `costUs` of CPU on each request (a
// busy loop: the cost of real work, without I/O) and answers it. Nodes load this module with
// `--module` (BENCH_SERVICE_MODULE) and register the process under BENCH_SERVICE_NAME.
import { defineBehaviours, Down, Exit } from '../process/types.js';
import type { Context, Process, SystemMessage } from '../process/types.js';
import { workerEntry } from '../internal/worker-url.js';

export const BENCH_SERVICE_KIND = 'horde.bench-service';
export const BENCH_SERVICE_NAME = 'bench';
/** Always the built module (executors load JavaScript), also when this runs from src/ under tsx. */
export const BENCH_SERVICE_MODULE = workerEntry(import.meta.url, './service.js');
/** Longest cost a request may ask for (a bound on what one client can make a process do). */
export const MAX_COST_US = 100_000;

export interface BenchRequest {
  costUs: number;
}

export class BenchService implements Process<BenchRequest> {
  private served = 0;
  receive(msg: BenchRequest | SystemMessage, ctx: Context<BenchRequest>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    const cost = Math.min(MAX_COST_US, Math.max(0, Number(msg.costUs) || 0));
    const until = performance.now() + cost / 1000;
    while (performance.now() < until);
    ctx.reply(++this.served);
  }
}

export const behaviours = defineBehaviours({ [BENCH_SERVICE_KIND]: () => new BenchService() });
