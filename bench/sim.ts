/**
 * Suite `sim`: how fast the deterministic simulator runs a cluster. A 3-node SimCluster (real
 * shards, timer wheel and cluster servers over the simulated network, 100 ms heartbeats) in which
 * a pacer process on each node sends a message to a sink on the next node every 3 ms of simulated
 * time (1,000 messages per simulated second in all), for SIM_SECONDS simulated seconds. Reported:
 * simulated seconds per wall-clock second (`sim_seconds_per_s`) and messages delivered per
 * wall-clock second (`msgs_per_s`), the median of ROUNDS runs of different seeds, after one
 * round of each case that is not counted (it warms the JIT up: a cold first round of the 1k case
 * takes about three times as long as a warm one); the goal is at least 100x real time. Also simulated seconds per second of the process's CPU time
 * (`sim_seconds_per_cpu_s`, user and system, GC threads included): steadier than wall time on a
 * shared machine, where other processes take turns on the cores. A second case (`flood`) sends as fast as the simulation goes: each pacer
 * ticks every millisecond with 20 pacers on each node (60,000 messages per simulated second), to
 * show the simulator's message rate.
 */

import { SimCluster } from '../src/index.js';
import { behaviours, type PacerMsg, type SinkMsg } from './sim-behaviours.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';

const SIM_SECONDS = 10;
const ROUNDS = 3;
const NODES = 3;

function note(text: string): void {
  process.stderr.write(`[sim] ${text}\n`);
}

async function round(seed: number, everyMs: number, pacers: number, simSeconds: number): Promise<{ simPerS: number; simPerCpuS: number; msgsPerS: number }> {
  const cluster = await SimCluster.start({ behaviours, nodes: NODES, seed });
  const sinks = cluster.nodeIds.map((id) => cluster.spawn<SinkMsg>(id, 'sink'));
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const simStart = cluster.now;
  for (const id of cluster.nodeIds) {
    for (let p = 0; p < pacers; p++) {
      const pacer = cluster.spawn<PacerMsg>(id, 'pacer');
      cluster.send(id, pacer, { type: 'start', to: sinks[id % NODES]!, everyMs });
    }
  }
  await cluster.runFor(simSeconds * 1_000);
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1_000;
  const simMs = cluster.now - simStart;
  let delivered = 0;
  for (const id of cluster.nodeIds) delivered += await cluster.ask<number>(id, sinks[id - 1]!, { type: 'count' });
  await cluster.stop();
  note(`seed ${seed} every ${everyMs} ms: ${(simMs / 1_000).toFixed(1)} simulated s in ${(wallMs / 1_000).toFixed(2)} s (${(cpuMs / 1_000).toFixed(2)} s of CPU), ${delivered} messages, ${cluster.scheduler.trace.events} events`);
  return { simPerS: simMs / wallMs, simPerCpuS: simMs / cpuMs, msgsPerS: (delivered / wallMs) * 1_000 };
}

export async function run(report: Report): Promise<void> {
  const cases = [
    ['3node-1k-msgs', 3, 1, SIM_SECONDS],
    ['3node-flood', 1, 20, 1],
  ] as const;
  note('warm-up rounds (not counted)');
  for (const [, everyMs, pacers, simSeconds] of cases) await round(ROUNDS + 1, everyMs, pacers, simSeconds);
  for (const [name, everyMs, pacers, simSeconds] of cases) {
    const rounds = [];
    for (let seed = 1; seed <= ROUNDS; seed++) rounds.push(await round(seed, everyMs, pacers, simSeconds));
    report({ case: name, system: 'horde', metric: 'sim_seconds_per_s', value: median(rounds.map((r) => r.simPerS)) });
    report({ case: name, system: 'horde', metric: 'msgs_per_s', value: median(rounds.map((r) => r.msgsPerS)) });
    report({ case: name, system: 'horde', metric: 'sim_seconds_per_cpu_s', value: median(rounds.map((r) => r.simPerCpuS)) });
  }
}
