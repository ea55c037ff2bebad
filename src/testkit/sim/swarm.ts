/**
 * Swarm testing for SimCluster: run one scenario under many seeds, each with a fault schedule the
 * seed chooses, and when a seed fails, say which, how to replay it, and the smallest fault
 * schedule (by removing faults one at a time) that still fails.
 *
 * A seed decides everything: the run's generator (scheduling, latencies) and, through a separate
 * generator derived from it, the fault schedule, so removing a fault while shrinking does not
 * change how the schedule's other faults were drawn. `HORDE_SIM_SEED` (and `HORDE_SIM_FAULTS`, a
 * schedule as JSON) in the environment run that one seed (and schedule) only: the replay command.
 */

import { ErrorCode, HordeError } from '../../errors.js';
import type { SimCluster } from './cluster.js';
import { SimRandom } from './random.js';

/** One fault of a schedule. Nodes are SimCluster node ids (1..N). */
export type SimFault =
  /** Cuts `side` off from `other` (only what `side` sends, with `oneWay`). */
  | {
      /** The kind of fault. */
      kind: 'partition';
      /** Nodes on one side. */
      side: number[];
      /** Nodes on the other. */
      other: number[];
      /** Only what `side` sends is held. */
      oneWay: boolean;
    }
  /** Ends every partition. */
  | {
      /** The kind of fault. */
      kind: 'heal';
    }
  /** Kills the node (kill -9), or starts a new incarnation of a killed one. */
  | {
      /** The kind of fault. */
      kind: 'crash' | 'restart';
      /** The node. */
      node: number;
    }
  /** Stops the node for `ms` (SIGSTOP), or steps its wall clock by `ms`. */
  | {
      /** The kind of fault. */
      kind: 'pause' | 'skew';
      /** The node. */
      node: number;
      /** How long it stops, or how far its wall clock steps (either way). */
      ms: number;
    }
  /** Makes the node's clocks run at `ratio` times simulated time. */
  | {
      /** The kind of fault. */
      kind: 'drift';
      /** The node. */
      node: number;
      /** Its clocks' rate. */
      ratio: number;
    }
  /** Makes the node's next `count` fsyncs under its data directory fail with EIO (a cluster started with `disks`). */
  | {
      /** The kind of fault. */
      kind: 'fsyncFail';
      /** The node. */
      node: number;
      /** How many fsyncs fail. */
      count: number;
    }
  /** Stalls every disk operation of the node for `ms` (a cluster started with `disks`). */
  | {
      /** The kind of fault. */
      kind: 'slowDisk';
      /** The node. */
      node: number;
      /** How long its disk stalls. */
      ms: number;
    };

/** A fault and when it strikes, in simulated ms from when the schedule is applied. */
export interface ScheduledFault {
  /** Simulated ms after `applyFaults`. */
  atMs: number;
  /** What happens. */
  fault: SimFault;
}

/** What `randomFaults` may choose. */
export interface FaultOptions {
  /** Nodes of the cluster (ids 1..nodes). */
  nodes: number;
  /** Faults strike within this many simulated ms. */
  withinMs: number;
  /** The most faults (default 4). */
  maxFaults?: number;
  /** Kinds it may choose (default all but `restart`, which follows a crash on its own, and `fsyncFail` and `slowDisk`, which need `disks`). */
  kinds?: readonly Exclude<SimFault['kind'], 'restart' | 'heal'>[];
}

const ALL_KINDS = ['partition', 'crash', 'pause', 'skew', 'drift'] as const;

/**
 * A fault schedule drawn from `random`: up to `maxFaults` faults at random times, each partition
 * healed and each crashed node restarted later within the window; a node is never crashed twice.
 */
export function randomFaults(random: SimRandom, options: FaultOptions): ScheduledFault[] {
  const kinds = options.kinds ?? ALL_KINDS;
  const count = random.int((options.maxFaults ?? 4) + 1);
  const faults: ScheduledFault[] = [];
  const crashed = new Set<number>();
  for (let i = 0; i < count && kinds.length > 0; i++) {
    const atMs = Math.round(random.between(0, options.withinMs * 0.7));
    const later = Math.round(atMs + random.between(50, options.withinMs * 0.3));
    const node = 1 + random.int(options.nodes);
    const kind = random.pick(kinds);
    switch (kind) {
      case 'partition': {
        const shuffled = Array.from({ length: options.nodes }, (_, k) => k + 1);
        for (let k = shuffled.length - 1; k > 0; k--) {
          const j = random.int(k + 1);
          [shuffled[k], shuffled[j]] = [shuffled[j]!, shuffled[k]!];
        }
        const cut = 1 + random.int(Math.max(1, options.nodes - 1));
        faults.push({ atMs, fault: { kind: 'partition', side: shuffled.slice(0, cut), other: shuffled.slice(cut), oneWay: random.chance(0.2) } });
        faults.push({ atMs: later, fault: { kind: 'heal' } });
        break;
      }
      case 'crash':
        if (crashed.has(node)) break;
        crashed.add(node);
        faults.push({ atMs, fault: { kind: 'crash', node } });
        faults.push({ atMs: later, fault: { kind: 'restart', node } });
        break;
      case 'pause':
        faults.push({ atMs, fault: { kind: 'pause', node, ms: Math.round(random.between(10, 3_000)) } });
        break;
      case 'skew':
        faults.push({ atMs, fault: { kind: 'skew', node, ms: Math.round(random.between(-5_000, 5_000)) } });
        break;
      case 'drift':
        faults.push({ atMs, fault: { kind: 'drift', node, ratio: random.between(0.9, 1.1) } });
        break;
      case 'fsyncFail':
        faults.push({ atMs, fault: { kind: 'fsyncFail', node, count: 1 + random.int(3) } });
        break;
      case 'slowDisk':
        faults.push({ atMs, fault: { kind: 'slowDisk', node, ms: Math.round(random.between(1, 2_000)) } });
        break;
    }
  }
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Schedules `faults` on the cluster, relative to its time now. A fault that cannot strike (a
 * restart of a node that is up, a crash of one that is down) is skipped; errors of a restart
 * are collected in the returned array, for the scenario to check.
 */
export function applyFaults(cluster: SimCluster, faults: readonly ScheduledFault[]): Error[] {
  const errors: Error[] = [];
  const start = cluster.now;
  for (const { atMs, fault } of faults) {
    cluster.scheduler.at(start + atMs, () => strike(cluster, fault, errors), `fault ${fault.kind}`);
  }
  return errors;
}

function strike(cluster: SimCluster, fault: SimFault, errors: Error[]): void {
  switch (fault.kind) {
    case 'partition':
      cluster.partition(fault.side, fault.other, fault.oneWay);
      return;
    case 'heal':
      cluster.heal();
      return;
    case 'crash':
      if (cluster.isRunning(fault.node)) cluster.crash(fault.node);
      return;
    case 'restart':
      if (!cluster.isRunning(fault.node)) cluster.restart(fault.node).catch((error: unknown) => errors.push(error instanceof Error ? error : new Error(String(error))));
      return;
    case 'pause':
      if (cluster.isRunning(fault.node)) cluster.pause(fault.node, fault.ms);
      return;
    case 'skew':
      if (cluster.isRunning(fault.node)) cluster.skew(fault.node, fault.ms);
      return;
    case 'drift':
      if (cluster.isRunning(fault.node)) cluster.drift(fault.node, fault.ratio);
      return;
    case 'fsyncFail':
      cluster.disk(fault.node).failFsync('/data', fault.count);
      return;
    case 'slowDisk':
      if (cluster.isRunning(fault.node)) cluster.slowDisk(fault.node, fault.ms);
  }
}

/** Options of `swarm`. */
export interface SwarmOptions {
  /** Seeds to run: `first`, `first + 1`, ... (default 200 seeds from 1). */
  seeds?: number;
  /** The first seed (default 1). */
  first?: number;
  /** The test file, for the replay command it prints. */
  file: string;
  /** Draws the fault schedule of a seed (default none). */
  faults?: (random: SimRandom) => ScheduledFault[];
  /** Shrink a failing seed's fault schedule (default true). */
  shrink?: boolean;
}

/** What `swarm` ran. */
export interface SwarmReport {
  /** Seeds run. */
  seeds: number;
  /** Faults struck in all. */
  faults: number;
}

/**
 * Runs `scenario(seed, faults)` for every seed; it throws (an assertion) when the run is wrong.
 * On the first failing seed, shrinks its fault schedule and throws HORDE_SIM_FAILED naming the
 * seed, the error, the replay command and the shrunk schedule.
 */
export async function swarm(options: SwarmOptions, scenario: (seed: number, faults: ScheduledFault[]) => Promise<void>): Promise<SwarmReport> {
  const draw = options.faults ?? (() => []);
  const only = process.env.HORDE_SIM_SEED;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: options.seeds ?? 200 }, (_, i) => (options.first ?? 1) + i);
  if (seeds.some((seed) => !Number.isInteger(seed))) throw new HordeError(ErrorCode.INVALID_OPTION, `HORDE_SIM_SEED must be an integer; got ${String(only)}`);
  const given = process.env.HORDE_SIM_FAULTS;
  let struck = 0;
  for (const seed of seeds) {
    const faults = given !== undefined && only !== undefined ? (JSON.parse(given) as ScheduledFault[]) : draw(faultRandom(seed));
    struck += faults.length;
    const failure = await attempt(scenario, seed, faults);
    if (failure === undefined) continue;
    const shrunk = options.shrink === false ? faults : await shrinkFaults(scenario, seed, faults, failure);
    const schedule = JSON.stringify(shrunk);
    throw new HordeError(
      ErrorCode.SIM_FAILED,
      `seed ${seed} failed: ${failure.message}\n` +
        `replay: HORDE_SIM_SEED=${seed} npx vitest run ${options.file}\n` +
        `shrunk fault schedule (${shrunk.length} of ${faults.length} faults): ${schedule}\n` +
        `replay with it: HORDE_SIM_SEED=${seed} HORDE_SIM_FAULTS='${schedule}' npx vitest run ${options.file}`,
      { cause: failure },
    );
  }
  return { seeds: seeds.length, faults: struck };
}

/** The generator a seed's fault schedule is drawn from (apart from the run's own). */
function faultRandom(seed: number): SimRandom {
  return new SimRandom((seed ^ 0x5eed_fa17) >>> 0);
}

async function attempt(scenario: (seed: number, faults: ScheduledFault[]) => Promise<void>, seed: number, faults: ScheduledFault[]): Promise<Error | undefined> {
  try {
    await scenario(seed, faults);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The kind of a failure: its name and code, so shrinking keeps the same failure, not any. */
function kindOf(error: Error): string {
  return `${error.name}:${String((error as { code?: unknown }).code)}`;
}

/** Removes faults one at a time while the seed still fails the same way; at most 64 reruns. */
async function shrinkFaults(scenario: (seed: number, faults: ScheduledFault[]) => Promise<void>, seed: number, faults: ScheduledFault[], failure: Error): Promise<ScheduledFault[]> {
  const kind = kindOf(failure);
  let current = faults;
  let reruns = 0;
  for (let i = 0; i < current.length && reruns < 64; ) {
    const without = current.filter((_, k) => k !== i);
    reruns++;
    const again = await attempt(scenario, seed, without);
    if (again !== undefined && kindOf(again) === kind) current = without;
    else i++;
  }
  return current;
}
