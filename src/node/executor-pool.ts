/**
 * ExecutorPool: the node's executor workers, one per shard: starting them, replacing one that dies
 * while the node runs, and asking them for status.
 *
 * Replacement: a worker that dies is replaced on the same shard number with fresh rings and a
 * fresh pid space (a new spawnerId, and SpawnFloors naming how far the other allocators had got,
 * see spawn-wait.ts). The replacement is one topology change (`host.change`: changes run one at a
 * time, so a thread started by one always gets the rings the others switched to): renew the
 * shard's rings, start the worker, have every participant switch to its rings, then tell the other
 * executors (`shardLost`: their links and monitors on the lost processes fire 'executor_crashed')
 * and the host (`lost`: the main thread's own monitors and asks).
 *
 * Runs on the main thread's event loop; the workers' events arrive there as messages.
 */

import type { Remote } from 'comlink';
import { ErrorCode, HordeError } from '../errors.js';
import { CounterSlot, counterSlots, type ControlResult, type ExecutorApi, type ExecutorStatus } from '../executor/protocol.js';
import { SharedCounters } from '../internal/shared-counters.js';
import { participantCount } from '../participant/participants.js';
import type { SpawnFloors } from '../executor/spawn-wait.js';
import { clockOffset } from '../internal/clock.js';
import type { NodePressure } from '../internal/node-pressure.js';
import type { Pid } from '../process/pid.js';
import { runningServices } from '../process/services.js';
import type { RingHandle } from '../ring/ring.js';
import { heartbeat, spawnerProgress, startExecutor, type ExecutorHandle, type MessageRefusal } from './executor-handle.js';
import type { ResolvedOptions } from './options.js';
import { ringData, type Topology } from './topology.js';
import type { Heartbeat } from './watchdog.js';
import { WorkerHandle } from './worker-handle.js';

/** Counter slots that are totals (carried over a replacement); the others are levels. */
const TOTAL_SLOTS = [CounterSlot.MESSAGES_HANDLED, CounterSlot.SPAWNED, CounterSlot.CRASHED, CounterSlot.DEAD_LETTERS, CounterSlot.TURNS];

/** What the pool needs from its node. */
export interface ExecutorPoolHost {
  readonly options: ResolvedOptions;
  readonly topology: Topology;
  /** Which peers are congested, shared with every executor. */
  readonly nodePressure: NodePressure;
  /** False once the node is stopping: a worker that exits then is not replaced. */
  running(): boolean;
  /** Runs `change` once the topology changes queued before it have finished. */
  change<T>(change: () => Promise<T>): Promise<T>;
  /** Participant `index` has new rings: every other participant switches to them. */
  switchRings(index: number): Promise<void>;
  /** Every process of `shard` is gone (its replacement runs): the main thread's monitors and asks there fire. */
  lost(shard: number): void;
  processCrashed(detail: { pid: Pid; kind: string; reason: unknown }): void;
  executorCrashed(detail: { shard: number; code: number; error: unknown }): void;
  malformed(error: unknown): void;
  messageRefused(refusal: MessageRefusal): void;
}

export class ExecutorPool {
  private readonly host: ExecutorPoolHost;
  private readonly executors: ExecutorHandle[] = [];
  private nextSpawnerId = 1;
  /** Executor replacements under way, by shard (status() waits for them). */
  private readonly replacing = new Map<number, Promise<void>>();
  /** The spawnerId of each shard's current executor, set when it starts (before it is ready). */
  private readonly spawnerOfShard: number[] = [];
  /** Each shard's SharedCounters (its current executor's). */
  private readonly counterBlocks: SharedCounters[] = [];
  /** Totals of the executors each shard had before its current one. */
  private readonly retiredTotals: Float64Array[] = [];
  /** Processes that ended with a reason other than 'normal' or 'shutdown'. */
  processCrashes = 0;
  /** Executor threads that died and were replaced. */
  restarts = 0;

  constructor(host: ExecutorPoolHost) {
    this.host = host;
  }

  /** Starts one executor per shard, one after another. */
  async start(): Promise<void> {
    for (let shard = 0; shard < this.host.options.executors; shard++) this.executors.push(await this.startExecutor(shard));
  }

  /** The current executor of `shard`, or undefined for no such shard. */
  at(shard: number): ExecutorHandle | undefined {
    return this.executors[shard];
  }

  /** Every executor's heartbeat, by shard (the watchdog's reading). */
  heartbeats(): Heartbeat[] {
    return this.executors.map(heartbeat);
  }

  /** Each executor's status; one that exits meanwhile is asked again once its replacement runs. */
  status(): Promise<ExecutorStatus[]> {
    return Promise.all(this.executors.map((_, shard) => this.executorStatus(shard)));
  }

  /** Runs a full GC on every executor (needs --expose-gc); resolves with whether all could. */
  async collectGarbage(): Promise<boolean> {
    const done = await Promise.all(this.executors.map((executor) => executor.call((api) => api.collectGarbage())));
    return done.every(Boolean);
  }

  /** Every executor but participant `index` switches to `rings(shard)` for it. */
  async replaceRings(index: number, rings: (shard: number) => [RingHandle, RingHandle]): Promise<void> {
    const others = this.executors.map((executor, shard) => ({ executor, shard })).filter(({ shard }) => shard !== index);
    await Promise.all(others.map(({ executor, shard }) => this.callExecutor(executor, (api) => api.replaceRings(index, ...rings(shard)))));
  }

  /** Stops every executor (its processes' terminate runs) and waits for each to exit, within `graceMs`. */
  async stop(graceMs: number, failed: (error: unknown) => void): Promise<void> {
    // A worker exits right after answering stop, and its answer may be lost with the closing
    // port, so the exit itself is what we wait for.
    await Promise.all(this.executors.map((executor) => executor.shutDown((api) => WorkerHandle.unwrap(api.stop()), graceMs, failed)));
  }

  private async executorStatus(shard: number): Promise<ExecutorStatus> {
    const executor = this.executors[shard]!;
    try {
      return await executor.call((api) => api.status());
    } catch (error) {
      const replacing = this.replacing.get(shard);
      if (!(error instanceof HordeError) || error.code !== ErrorCode.WORKER_EXITED || replacing === undefined) throw error;
      await replacing.catch(() => undefined);
      if (this.executors[shard] === executor) throw error;
      return this.executors[shard]!.call((api) => api.status());
    }
  }

  /**
   * Each shard's counters as its executor last published them (no round trip: see
   * src/internal/shared-counters.ts), totals including those of the executors it replaced; a slot
   * array indexed by CounterSlot, or undefined for a shard whose block was being written (rare).
   */
  counters(): (Float64Array | undefined)[] {
    return this.counterBlocks.map((block, shard) => {
      const reading = block.read();
      if (reading === undefined) return undefined;
      const retired = this.retiredTotals[shard];
      if (retired !== undefined) for (const slot of TOTAL_SLOTS) reading[slot]! += retired[slot]!;
      return reading;
    });
  }

  private async startExecutor(shard: number, spawnFloors?: SpawnFloors): Promise<ExecutorHandle> {
    const { options, topology } = this.host;
    const spawnerId = this.nextSpawnerId++;
    this.spawnerOfShard[shard] = spawnerId;
    const previous = this.counterBlocks[shard];
    if (previous !== undefined) this.retire(shard, previous);
    const counters = new SharedCounters(counterSlots(participantCount(options.executors)));
    this.counterBlocks[shard] = counters;
    return startExecutor(
      {
        ...ringData(topology, options, shard),
        shard,
        spawnerId,
        behaviourModules: options.behaviours,
        preloadModules: options.preload,
        budget: options.budget,
        mailboxLimit: options.mailboxLimit,
        spin: options.spin,
        clockOffset: clockOffset(),
        nodePressure: this.host.nodePressure.buffer,
        runningServices: runningServices(options),
        counters: counters.buffer,
        ...(spawnFloors === undefined ? {} : { spawnFloors }),
      },
      topology.bells[shard]!,
      options.resourceLimits,
      {
        crashed: (pid, kind, reason) => {
          this.processCrashes++;
          this.host.processCrashed({ pid, kind, reason });
        },
        malformed: (error) => this.host.malformed(error),
        refused: (refusal) => this.host.messageRefused(refusal),
        exited: (code, error) => this.exited(shard, code, error),
      },
    );
  }

  /** A replaced executor's totals carry over into its shard's, so they never go down. */
  private retire(shard: number, block: SharedCounters): void {
    const last = block.read() ?? block.slots;
    const retired = (this.retiredTotals[shard] ??= new Float64Array(last.length));
    for (const slot of TOTAL_SLOTS) retired[slot]! += last[slot]!;
  }

  private exited(shard: number, code: number, error: Error | undefined): void {
    const host = this.host;
    if (!host.running()) return;
    host.executorCrashed({ shard, code, error });
    if (!host.options.restartExecutors) return;
    const replacing = host.change(() => this.replace(shard));
    this.replacing.set(shard, replacing);
    const settled = (): void => {
      if (this.replacing.get(shard) === replacing) this.replacing.delete(shard);
    };
    replacing.then(settled, (failure: unknown) => {
      settled();
      host.executorCrashed({ shard, code: -1, error: failure });
    });
  }

  private async replace(shard: number): Promise<void> {
    const host = this.host;
    host.topology.renew(shard);
    try {
      const replacement = await this.startExecutor(shard, this.spawnFloors(shard));
      if (!host.running()) {
        await replacement.worker.terminate();
        return;
      }
      this.executors[shard] = replacement;
      this.restarts++;
    } catch (error) {
      host.executorCrashed({ shard, code: -1, error });
      return;
    }
    await host.switchRings(shard);
    await Promise.all(
      this.executors.filter((_, index) => index !== shard).map((executor) => this.callExecutor(executor, (api) => api.shardLost(shard, 'executor_crashed'))),
    );
    host.lost(shard);
  }

  /** A control call to an executor inside a topology change: one that died meanwhile is replaced by a later change. */
  private async callExecutor(executor: ExecutorHandle, invoke: (api: Remote<ExecutorApi>) => Promise<ControlResult<null>>): Promise<void> {
    try {
      await WorkerHandle.unwrap(executor.call(invoke));
    } catch (error) {
      if (!WorkerHandle.exitedFirst(error)) throw error;
    }
  }

  /**
   * How far the other executors' allocators had got when `shard`'s replacement starts: their pids
   * on `shard` up to there were its predecessor's (lost), later ones may still be on their way.
   */
  private spawnFloors(shard: number): SpawnFloors {
    const floors: [number, number][] = [];
    this.spawnerOfShard.forEach((spawnerId, index) => {
      if (index === shard) return;
      // An executor still starting (replaced at the same time) has allocated nothing yet.
      const progress = spawnerProgress(this.executors[index]!);
      floors.push([spawnerId, progress[0] === spawnerId ? progress[1] : 0]);
    });
    return { floorsBelow: this.nextSpawnerId, floors };
  }
}
