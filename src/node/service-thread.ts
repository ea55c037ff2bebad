/**
 * ServiceThread: the main thread's side of one service thread (an entry of SERVICES in
 * src/process/services.ts), the same for every service: its participant index and entry module,
 * starting it, its status, switching its rings when another participant is replaced, stopping it,
 * and replacing it when it dies. The node keeps one per entry and iterates them.
 *
 * Supervision. A thread that exits while the node runs is reported (`crashed`: the node's
 * 'serviceCrashed' event). More than `serviceRestartIntensity` restarts of one service within
 * `serviceRestartPeriodMs` and the node gives up (`gaveUp`: it reports 'nodeFailed' with
 * HORDE_RESTART_INTENSITY and stops) rather than loop. Otherwise the replacement is one topology
 * change (`host.change`, which runs changes one at a time, executor replacements included):
 *   1. the service gets a new doorbell and new rings in both directions (Topology.renew);
 *   2. every other participant switches to them (`host.switchRings`). What the dead thread held
 *      is answered by those who asked: an executor answers each of its processes' requests to
 *      that service with an IoResult HORDE_WORKER_EXITED (requests still unread in the old rings
 *      included) and, for the poller, starts its timers again due when they were due; the main
 *      thread starts its `every` ticks again (Shard.serviceLost, HordeNode.switchRings);
 *   3. the replacement starts on the new rings, where requests sent since step 2 wait for it.
 * A replacement that fails to start counts as another death. Durable logs reopen (with their
 * torn-tail recovery) on first use by the new file worker.
 *
 * Asking a thread that dies meanwhile: `status` asks its replacement once it runs. `replaceRings`
 * (called inside another topology change) does not wait for a replacement, which is queued behind
 * that change and reads the topology as it is by then.
 */

import { ErrorCode, HordeError } from '../errors.js';
import { RestartIntensity } from '../internal/restart-intensity.js';
import { clockOffset } from '../internal/clock.js';
import { workerEntry } from '../internal/worker-url.js';
import { SERVICES, type ServiceName } from '../process/services.js';
import type { RingHandle } from '../ring/ring.js';
import type { ServiceApi, ServiceWorkerData } from '../participant/service-protocol.js';
import { serviceIndex } from '../participant/participants.js';
import type { ResolvedOptions } from './options.js';
import { ringData, type Topology } from './topology.js';
import { WorkerHandle } from './worker-handle.js';

/** `status().services[name]`: the thread's own figures and how often it was replaced. */
export interface ServiceStatus {
  /** Replacements started after the thread died. */
  restarts: number;
  /** The running thread's own figures (from zero at each restart): the poller's PollerStatus, the file worker's FileWorkerStatus, the store thread's StoreWorkerStatus. */
  [figure: string]: unknown;
}

/** The detail of a 'serviceCrashed' event. */
export interface ServiceCrash {
  name: ServiceName;
  /** The thread's exit code (-1: a replacement that failed to start). */
  code: number;
  error: Error | undefined;
  /** Restarts before this death. */
  restarts: number;
}

export interface ServiceThreadHost {
  readonly topology: Topology;
  readonly options: ResolvedOptions;
  running(): boolean;
  now(): number;
  /** Runs `change` once every topology change queued before it has finished. */
  change<T>(change: () => Promise<T>): Promise<T>;
  /** Participant `index` has new rings: every other participant switches to them. */
  switchRings(index: number): Promise<void>;
  crashed(crash: ServiceCrash): void;
  gaveUp(error: HordeError): void;
  malformed(error: unknown): void;
}

const STOP_GRACE_MS = 10_000;

export class ServiceThread {
  readonly name: ServiceName;
  /** Its participant index in the topology. */
  readonly index: number;
  private readonly entry: URL;
  private readonly intensity: RestartIntensity;
  /** The running worker; undefined while it is dead or starting. */
  private handle: WorkerHandle<ServiceApi> | undefined;
  /** The latest start: resolves with its worker once ready, rejects if it failed. */
  private current: Promise<WorkerHandle<ServiceApi>> | undefined;
  private restarts = 0;

  constructor(
    readonly service: number,
    private readonly host: ServiceThreadHost,
  ) {
    const descriptor = SERVICES[service]!;
    this.name = descriptor.name;
    this.index = serviceIndex(host.options.executors, service);
    this.entry = workerEntry(import.meta.url, `../${descriptor.entry}`);
    this.intensity = new RestartIntensity(host.options.serviceRestartIntensity, host.options.serviceRestartPeriodMs);
  }

  /** The first start; rejects (HORDE_WORKER_START_FAILED) if the thread does not come up. */
  async start(): Promise<void> {
    this.current = this.launch();
    await this.current;
  }

  async status(): Promise<ServiceStatus> {
    for (;;) {
      const current = this.current!;
      try {
        const figures = await (await current).call((api) => Promise.resolve(api.status()));
        return { ...figures, restarts: this.restarts };
      } catch (error) {
        // It died (or its replacement failed to start) and is being replaced: ask the next one.
        if (this.current === current || !this.host.running()) throw error;
      }
    }
  }

  /** Participant `index` was replaced: the thread switches to its rings to and from it. */
  async replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): Promise<void> {
    const handle = this.handle;
    // Dead: its replacement starts on the topology as it is.
    if (handle === undefined) return;
    try {
      await handle.call((api) => Promise.resolve(api.replaceRings(index, inbound, outbound)));
    } catch (error) {
      if (!WorkerHandle.exitedFirst(error)) throw error;
    }
  }

  /** Stops the thread (waiting for a replacement under way to start first). */
  async stop(onError: (error: unknown) => void): Promise<void> {
    // Never started (the node's start failed before it).
    if (this.current === undefined) return;
    let handle: WorkerHandle<ServiceApi>;
    try {
      handle = await this.current;
    } catch (error) {
      // The latest start failed: there is no thread to stop. Why it failed is passed on unless
      // it was this stop itself.
      if (!(error instanceof HordeError && error.code === ErrorCode.NODE_STOPPED)) onError(error);
      return;
    }
    await handle.shutDown((api) => Promise.resolve(api.stop()), STOP_GRACE_MS, onError);
  }

  /** Test hook: the thread stops serving for `stallMs`, then exits with `code` (see ServiceApi.fail). */
  fail(stallMs: number, code: number): void {
    void this.handle?.api.fail(stallMs, code);
  }

  private async launch(): Promise<WorkerHandle<ServiceApi>> {
    const { topology, options } = this.host;
    const data: Omit<ServiceWorkerData, 'status'> = {
      ...ringData(topology, options, this.index),
      service: this.service,
      clockOffset: clockOffset(),
      settings: {
        dataDir: options.dataDir,
        computeModules: options.computeModules,
        preload: options.preload,
        computeThreads: options.computeThreads,
        ringCapacity: options.ringCapacity,
        store: options.store,
      },
    };
    let ready = false;
    const handle = await WorkerHandle.start<ServiceApi>({
      name: `the ${this.name} thread`,
      entry: this.entry,
      data,
      bell: topology.bells[this.index]!,
      onMessage: (message) => {
        if (message.type === 'malformed') this.host.malformed((message as { error?: unknown }).error);
      },
      // An exit before 'ready' fails the start instead (restart's rejection path).
      onExit: (code, error) => {
        if (ready) this.died(code, error);
      },
    });
    ready = true;
    this.handle = handle;
    return handle;
  }

  private died(code: number, error: Error | undefined): void {
    this.handle = undefined;
    if (this.host.running()) this.restart(code, error);
  }

  private restart(code: number, error: Error | undefined): void {
    this.host.crashed({ name: this.name, code, error, restarts: this.restarts });
    if (!this.intensity.allow(this.host.now())) {
      const { intensity, periodMs } = this.intensity;
      this.host.gaveUp(
        new HordeError(
          ErrorCode.RESTART_INTENSITY,
          `the ${this.name} thread died more than ${intensity} times within ${periodMs} ms (serviceRestartIntensity, serviceRestartPeriodMs): the node stops`,
          { cause: error },
        ),
      );
      return;
    }
    this.restarts++;
    const replacing = this.host.change(async () => {
      if (!this.host.running()) throw new HordeError(ErrorCode.NODE_STOPPED, `the node stopped before the ${this.name} thread was replaced`);
      this.host.topology.renew(this.index);
      await this.host.switchRings(this.index);
      return this.launch();
    });
    this.current = replacing;
    replacing.catch((failure: unknown) => {
      if (this.current === replacing && this.host.running()) this.restart(-1, failure instanceof Error ? failure : new Error(String(failure)));
    });
  }
}
