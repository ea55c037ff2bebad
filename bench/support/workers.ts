import { Worker, type Transferable } from 'node:worker_threads';

/**
 * Node 20 cannot start a worker from a .ts file, even when this process runs under
 * `--import tsx`: the entry must be JavaScript. This bootstrap (a data: URL, so no loose .mjs file
 * that the type-checked lint setup cannot parse) registers tsx's loader in the worker and then
 * imports the TypeScript module named in workerData.entry. tsx is resolved here, in the parent,
 * because a data: URL cannot resolve bare specifiers.
 */
const BOOTSTRAP = new URL(
  `data:text/javascript,${encodeURIComponent(
    [
      "import { workerData } from 'node:worker_threads';",
      'const { register } = await import(workerData.tsxApi);',
      'register();',
      'await import(workerData.entry);',
    ].join('\n'),
  )}`,
);
const TSX_API = import.meta.resolve('tsx/esm/api');

/**
 * A benchmark worker running a TypeScript module (through ts-worker.mjs), with its messages
 * buffered by `type` so the main thread can await them in order without racing the worker.
 */
export class BenchWorker<M extends { type: string }> {
  readonly worker: Worker;
  /** Resolves with the exit code once the worker has exited (0 or not). */
  readonly exited: Promise<number>;
  private readonly queued = new Map<string, M[]>();
  private readonly waiting = new Map<string, { resolve: (message: M) => void; reject: (error: Error) => void }[]>();
  private failure: Error | undefined;

  constructor(entry: URL, data: object, transferList: readonly Transferable[] = []) {
    this.worker = new Worker(BOOTSTRAP, {
      workerData: { ...data, entry: entry.href, tsxApi: TSX_API },
      transferList: [...transferList],
    });
    this.worker.on('message', (message: M) => this.deliver(message));
    this.worker.on('error', (error: Error) => this.fail(error));
    this.exited = new Promise<number>((resolve) => {
      this.worker.on('exit', (code: number) => {
        this.fail(new Error(`worker exited with code ${code} while the benchmark was waiting for it`));
        resolve(code);
      });
    });
  }

  /** The next message of `type` (possibly one that arrived earlier); rejects if the worker fails. */
  next<T extends M['type']>(type: T): Promise<Extract<M, { type: T }>> {
    const queue = this.queued.get(type);
    const message = queue?.shift();
    if (message !== undefined) return Promise.resolve(message as Extract<M, { type: T }>);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiters = this.waiting.get(type) ?? [];
      waiters.push({ resolve: resolve as (message: M) => void, reject });
      this.waiting.set(type, waiters);
    });
  }

  /** Waits for the worker to exit by itself and checks that it exited cleanly. */
  async join(): Promise<void> {
    const code = await this.exited;
    if (code !== 0) throw this.failure ?? new Error(`worker exited with code ${code}`);
  }

  private deliver(message: M): void {
    const waiter = this.waiting.get(message.type)?.shift();
    if (waiter !== undefined) {
      waiter.resolve(message);
      return;
    }
    const queue = this.queued.get(message.type) ?? [];
    queue.push(message);
    this.queued.set(message.type, queue);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiters of this.waiting.values()) {
      for (const waiter of waiters.splice(0)) waiter.reject(this.failure);
    }
  }
}
