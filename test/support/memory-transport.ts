// An in-memory network for the Transport seam (src/net/transport.ts): nothing is delivered until
// the test calls `settle`, and a cut link drops what crosses it (a black hole, as a partition is
// for TCP: no reset, no close; only the failure detector can tell). Not a simulator: no latency,
// no reordering, no back pressure (a write never reports a backlog).
import type { ByteStream, ListenEvents, Listener, Transport, TransportAddress } from '../../src/net/transport.js';

type DataListener = (chunk: Uint8Array) => void;
type VoidListener = () => void;
type ErrorListener = (error: Error) => void;

export class MemoryNetwork {
  private readonly listening = new Map<string, (stream: ByteStream) => void>();
  private readonly cuts = new Set<string>();
  private queue: (() => void)[] = [];
  private nextPort = 40_000;
  /** Chunks delivered and dropped (at a cut), for the test to look at. */
  delivered = 0;
  dropped = 0;

  /** The transport of the machine at `localHost`. */
  transport(localHost: string): Transport {
    return {
      listen: (address: TransportAddress, onStream: (stream: ByteStream) => void, _events: ListenEvents): Promise<Listener> => {
        const port = address.port === 0 ? this.nextPort++ : address.port;
        const key = `${address.host}:${port}`;
        if (this.listening.has(key)) return Promise.reject(new Error(`EADDRINUSE ${key}`));
        this.listening.set(key, onStream);
        return Promise.resolve({
          address: () => ({ host: address.host, port }),
          close: () => {
            this.listening.delete(key);
            return Promise.resolve();
          },
        });
      },
      dial: (address: TransportAddress): ByteStream => {
        const client = new MemoryStream(this, localHost, address.host);
        const server = new MemoryStream(this, address.host, localHost);
        client.peer = server;
        server.peer = client;
        this.post(() => {
          if (this.isCut(localHost, address.host)) return; // the connection attempt vanishes
          const accept = this.listening.get(`${address.host}:${address.port}`);
          if (accept === undefined) client.fail(new Error(`ECONNREFUSED ${address.host}:${address.port}`));
          else accept(server);
        });
        return client;
      },
      resolve: (host: string) => Promise.resolve([host]),
    };
  }

  /** From now on, what host `from` sends to host `to` is dropped (`both`: and back). */
  cut(from: string, to: string, both = true): void {
    this.cuts.add(`${from}>${to}`);
    if (both) this.cuts.add(`${to}>${from}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  post(task: () => void): void {
    this.queue.push(task);
  }

  /** Delivers everything sent, and everything that sends, until the network is quiet. */
  async settle(): Promise<void> {
    for (let round = 0; ; round++) {
      await new Promise((resolve) => setImmediate(resolve)); // microtasks (the cluster's flushes) first
      if (this.queue.length === 0) return;
      if (round > 100_000) throw new Error('the in-memory network does not settle');
      const tasks = this.queue;
      this.queue = [];
      for (const task of tasks) task();
    }
  }
}

class MemoryStream implements ByteStream {
  peer!: MemoryStream;
  readonly writableNeedDrain = false;
  writableEnded = false;
  private readonly dataListeners: DataListener[] = [];
  private readonly closeListeners: VoidListener[] = [];
  private readonly errorListeners: ErrorListener[] = [];
  private paused = false;
  private held: Uint8Array[] = [];
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly localHost: string,
    readonly remoteHost: string,
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.writableEnded) return false;
    const chunk = bytes.slice();
    this.network.post(() => {
      if (this.network.isCut(this.localHost, this.remoteHost)) {
        this.network.dropped++;
        return;
      }
      this.network.delivered++;
      this.peer.receive(chunk);
    });
    return true;
  }

  cork(): void {}

  uncork(): void {}

  end(): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    // After what was written: both sides close (no half-open streams).
    this.network.post(() => {
      if (!this.network.isCut(this.localHost, this.remoteHost)) this.peer.close();
      this.close();
    });
  }

  destroy(): void {
    this.writableEnded = true;
    this.network.post(() => this.close());
    this.network.post(() => {
      if (!this.network.isCut(this.localHost, this.remoteHost)) this.peer.close();
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    this.network.post(() => held.forEach((chunk) => this.receive(chunk)));
  }

  on(event: 'data', listener: DataListener): this;
  on(event: 'drain' | 'close', listener: VoidListener): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: 'data' | 'drain' | 'close' | 'error', listener: DataListener | VoidListener | ErrorListener): this {
    if (event === 'data') this.dataListeners.push(listener as DataListener);
    else if (event === 'close') this.closeListeners.push(listener as VoidListener);
    else if (event === 'error') this.errorListeners.push(listener as ErrorListener);
    // 'drain' never comes: a write never reports a backlog.
    return this;
  }

  /** The connection attempt failed: 'error', then 'close'. */
  fail(error: Error): void {
    for (const listener of this.errorListeners) listener(error);
    this.close();
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.paused) this.held.push(chunk);
    else for (const listener of this.dataListeners) listener(chunk);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writableEnded = true;
    for (const listener of this.closeListeners) listener();
  }
}
