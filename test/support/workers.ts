import { Worker } from 'node:worker_threads';

const bootstrap = new URL('./ts-worker.mjs', import.meta.url);

/** Starts a test fixture worker from a TypeScript file next to test/support (via tsx). */
export function startFixtureWorker(fixture: URL, data: Record<string, unknown>): Worker {
  return new Worker(bootstrap, { workerData: { ...data, entry: fixture.href } });
}

/** Resolves with the worker's first message of `type`, rejects on its error or early exit. */
export function nextMessage<T>(worker: Worker, type: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { type?: string } & T): void => {
      if (message.type !== type) return;
      cleanup();
      resolve(message);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`worker exited with code ${code} before sending "${type}"`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
