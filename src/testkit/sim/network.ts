/**
 * SimNetwork: the simulated network under the cluster servers of a simulated run, as `Transport`s
 * (src/net/transport.ts), one per simulated host.
 *
 * Concurrency design: a stream is TCP as the cluster code sees it: bytes in order, exactly once,
 * until the stream closes. What crosses a link is a packet (a piece of a write, the end of a
 * stream, a connection attempt or its answer) delivered as an event owned by the receiving host,
 * after a latency drawn from the run's generator; a direction of a stream never delivers out of
 * order (a packet is due no earlier than the one before it). Writes made while the stream is
 * corked leave together as one packet at `uncork` (as a corked socket's writev), and packets are
 * split at random points (the reader's framing must put them together again). A partition holds packets rather than
 * dropping them, as TCP retransmits through one: when it heals they are delivered, in order,
 * unless the stream was closed meanwhile (a failure detector gave up on it), and then they are
 * gone with it. A connection attempt across a partition waits likewise. A crashed host's streams
 * end at once on its side; the other side sees them close (its kernel's FIN) after a latency, or
 * after the partition heals. Back pressure: bytes written and not yet handed to the reader (in
 * flight, held, or waiting in a paused reader) count against the writer's `highWaterBytes`;
 * `write` answers false past it and 'drain' follows once they are all handed over.
 */

import type { ByteStream, ListenEvents, Listener, Transport, TransportAddress } from '../../net/transport.js';
import type { SimScheduler } from './scheduler.js';

/** How long a packet takes on a link: `baseMs` plus an exponentially distributed extra of mean `jitterMs`. */
export interface LinkLatency {
  /** The least a packet takes, ms. */
  baseMs: number;
  /** The mean of the random extra, ms. */
  jitterMs: number;
}

/** Options of `new SimNetwork`. */
export interface SimNetworkOptions {
  /** Latency of every link unless `setLatency` says otherwise. Default 0.1 ms plus a mean of 0.05 ms. */
  latency?: LinkLatency;
  /** Bytes a stream's writer may have on their way before `write` answers false. Default 1 MiB. */
  highWaterBytes?: number;
  /** Split writes at random points. Default true. */
  splitWrites?: boolean;
}

type Packet =
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'end' }
  | { kind: 'syn'; port: number }
  | { kind: 'accepted' }
  | { kind: 'refused' };

/** A packet a partition holds: `resend` puts it on its way again once healed. */
interface Held {
  resend: () => void;
}

/** Counters of a SimNetwork. */
export interface SimNetworkStats {
  /** Packets delivered. */
  delivered: number;
  /** Bytes handed to readers. */
  bytes: number;
  /** Packets that arrived at a stream already closed (lost with it). */
  lost: number;
  /** Packets held by a partition now. */
  held: number;
}

/** The simulated network of a run. */
export class SimNetwork {
  private readonly listening = new Map<string, { host: string; onStream: (stream: ByteStream) => void }>();
  private readonly streams = new Set<SimStream>();
  private readonly blocked = new Set<string>();
  private readonly latencies = new Map<string, LinkLatency>();
  private held: Held[] = [];
  private nextPort = 40_000;
  private readonly latency: LinkLatency;
  /** @internal */
  readonly highWaterBytes: number;
  private readonly splitWrites: boolean;
  private readonly counters = { delivered: 0, bytes: 0, lost: 0 };

  /**
   * A network with no host listening yet.
   * @param scheduler The run's event loop (its generator draws latencies and splits).
   * @param options Latency, back pressure, splitting.
   */
  constructor(
    /** @internal */ readonly scheduler: SimScheduler,
    options: SimNetworkOptions = {},
  ) {
    this.latency = options.latency ?? { baseMs: 0.1, jitterMs: 0.05 };
    this.highWaterBytes = options.highWaterBytes ?? 1024 * 1024;
    this.splitWrites = options.splitWrites ?? true;
  }

  /** The transport of simulated host `host`: what its cluster server listens and dials with. */
  transport(host: string): Transport {
    return {
      listen: (address: TransportAddress, onStream: (stream: ByteStream) => void, _events: ListenEvents): Promise<Listener> => {
        const port = address.port === 0 ? this.nextPort++ : address.port;
        const key = `${address.host}:${port}`;
        if (address.host !== host) return Promise.reject(Object.assign(new Error(`EADDRNOTAVAIL: host ${host} cannot listen on ${key}`), { code: 'EADDRNOTAVAIL' }));
        if (this.listening.has(key)) return Promise.reject(Object.assign(new Error(`EADDRINUSE: ${key}`), { code: 'EADDRINUSE' }));
        this.listening.set(key, { host, onStream });
        return Promise.resolve({
          address: () => ({ host: address.host, port }),
          close: () => {
            this.listening.delete(key);
            return Promise.resolve();
          },
        });
      },
      dial: (address: TransportAddress): ByteStream => {
        const stream = new SimStream(this, host, address.host);
        this.streams.add(stream);
        this.send(stream, { kind: 'syn', port: address.port });
        return stream;
      },
      resolve: (name: string) => Promise.resolve([name]),
    };
  }

  /** The latency of packets from `from` to `to` from now on. */
  setLatency(from: string, to: string, latency: LinkLatency): void {
    this.latencies.set(`${from}>${to}`, latency);
  }

  /**
   * Cuts every host of `side` off from every host of `other`: packets between them are held until
   * `heal`. With `oneWay`, only what `side` sends to `other` is held.
   */
  partition(side: readonly string[], other: readonly string[], oneWay = false): void {
    for (const a of side) {
      for (const b of other) {
        this.blocked.add(`${a}>${b}`);
        if (!oneWay) this.blocked.add(`${b}>${a}`);
      }
    }
  }

  /** Ends every partition: held packets go on their way, in order. */
  heal(): void {
    this.blocked.clear();
    const held = this.held;
    this.held = [];
    for (const { resend } of held) resend();
  }

  /** True while what `from` sends to `to` is held. */
  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /**
   * A host killed: its listeners are gone and its streams end on its side at once, without
   * events; its kernel closes them, so their peers see them close after a latency.
   */
  crash(host: string): void {
    for (const [key, listener] of this.listening) if (listener.host === host) this.listening.delete(key);
    for (const stream of [...this.streams]) {
      if (stream.localHost !== host) continue;
      if (stream.peer !== undefined && !stream.writableEnded) this.send(stream, { kind: 'end' });
      stream.kill();
    }
  }

  /** Counters since the network was made. */
  stats(): SimNetworkStats {
    return { ...this.counters, held: this.held.length };
  }

  /** @internal Puts `packet` on its way from `stream`'s host to its peer's. */
  send(stream: SimStream, packet: Packet): void {
    if (this.blocked.size > 0 && this.blocked.has(stream.link)) {
      this.held.push({ resend: () => this.send(stream, packet) });
      return;
    }
    const latency = this.latencies.size > 0 ? (this.latencies.get(stream.link) ?? this.latency) : this.latency;
    if (packet.kind !== 'data' || !this.splitWrites) {
      this.travel(stream, packet, latency);
      return;
    }
    const { bytes } = packet;
    const random = this.scheduler.random;
    if (bytes.length < 2 || !random.chance(0.25)) {
      this.travel(stream, packet, latency);
      return;
    }
    const cut = 1 + random.int(bytes.length - 1);
    this.travel(stream, { kind: 'data', bytes: bytes.subarray(0, cut) }, latency);
    this.travel(stream, { kind: 'data', bytes: bytes.subarray(cut) }, latency);
  }

  /** @internal Removes a closed stream. */
  forget(stream: SimStream): void {
    this.streams.delete(stream);
  }

  /** One packet (or piece of one) on its way: due after the link's latency, and not before the one before it. */
  private travel(stream: SimStream, packet: Packet, latency: LinkLatency): void {
    const at = Math.max(this.scheduler.now + latency.baseMs + this.scheduler.random.exponential(latency.jitterMs), stream.lastArrival);
    stream.lastArrival = at;
    if (packet.kind === 'data') this.scheduler.at(at, () => this.arrive(stream, packet), stream.label, stream.remoteHost, packet.bytes.length);
    else this.scheduler.at(at, () => this.arrive(stream, packet), stream.label + packet.kind, stream.remoteHost);
  }

  private arrive(stream: SimStream, packet: Packet): void {
    this.counters.delivered++;
    switch (packet.kind) {
      case 'syn': {
        const listener = this.listening.get(`${stream.remoteHost}:${packet.port}`);
        if (listener === undefined || stream.dead) {
          this.reply(stream, { kind: 'refused' });
          return;
        }
        const accepted = new SimStream(this, stream.remoteHost, stream.localHost);
        this.streams.add(accepted);
        accepted.open(stream);
        stream.peer = accepted;
        this.reply(stream, { kind: 'accepted' });
        listener.onStream(accepted);
        return;
      }
      case 'accepted':
        // A dialer that gave up meanwhile closes the connection it no longer wants.
        if (stream.dead) this.send(stream, { kind: 'end' });
        else stream.open(stream.peer!);
        return;
      case 'refused':
        stream.refused();
        return;
      case 'data': {
        const reader = stream.peer;
        if (reader === undefined || reader.dead) {
          this.counters.lost++;
          return;
        }
        this.counters.bytes += packet.bytes.length;
        reader.receive(packet.bytes, stream);
        return;
      }
      case 'end': {
        const reader = stream.peer;
        if (reader !== undefined && !reader.dead) reader.remoteEnded();
      }
    }
  }

  /** An answer to a connection attempt travels back from the listening host to the dialer. */
  private reply(dialer: SimStream, packet: Packet): void {
    const from = dialer.remoteHost;
    const to = dialer.localHost;
    if (this.blocked.has(`${from}>${to}`)) {
      this.held.push({ resend: () => this.reply(dialer, packet) });
      return;
    }
    const latency = this.latencies.get(`${from}>${to}`) ?? this.latency;
    const at = this.scheduler.now + latency.baseMs + this.scheduler.random.exponential(latency.jitterMs);
    this.scheduler.at(at, () => this.arrive(dialer, packet), `net ${from}>${to} ${packet.kind}`, to);
  }
}

type DataListener = (chunk: Uint8Array) => void;
type VoidListener = () => void;
type ErrorListener = (error: Error) => void;

/** One end of a simulated connection. */
class SimStream implements ByteStream {
  peer: SimStream | undefined;
  /** No packet of this direction is due before this (FIFO). */
  lastArrival = 0;
  /** True once this end is closed: nothing more happens on it. */
  dead = false;
  writableNeedDrain = false;
  writableEnded = false;
  private connected = false;
  private paused = false;
  private readonly waiting: Uint8Array[] = [];
  private readonly inbox: { chunk: Uint8Array; writer: SimStream }[] = [];
  private closeAfterInbox = false;
  /** Bytes written here and not yet handed to the reader. */
  backlog = 0;
  private readonly dataListeners: DataListener[] = [];
  private readonly drainListeners: VoidListener[] = [];
  private readonly closeListeners: VoidListener[] = [];
  private readonly errorListeners: ErrorListener[] = [];
  /** `cork` calls not yet matched by `uncork`; writes meanwhile wait in `corked`. */
  private corks = 0;
  /** Writes held by a cork (the caller leaves them unchanged until written, as with a socket). */
  private corked: Uint8Array[] = [];
  /** This direction's link, "local>remote" (the key of partitions and latencies). */
  readonly link: string;
  /** This direction's packet label in the trace ("net a>b "; the kind follows for all but data, whose size is the detail). */
  readonly label: string;

  constructor(
    private readonly network: SimNetwork,
    readonly localHost: string,
    readonly remoteHost: string,
  ) {
    this.link = `${localHost}>${remoteHost}`;
    this.label = `net ${this.link} `;
  }

  write(bytes: Uint8Array): boolean {
    if (this.dead || this.writableEnded) return false;
    this.backlog += bytes.length;
    if (this.corks > 0) this.corked.push(bytes);
    else this.push(bytes.slice());
    if (this.backlog >= this.network.highWaterBytes) this.writableNeedDrain = true;
    return !this.writableNeedDrain;
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    this.flushCorked();
  }

  end(): void {
    if (this.dead || this.writableEnded) return;
    // What a cork held leaves before the end, as a socket's end() flushes it.
    this.corks = 0;
    this.flushCorked();
    this.writableEnded = true;
    if (this.connected) this.network.send(this, { kind: 'end' });
  }

  destroy(): void {
    if (this.dead) return;
    const wasConnected = this.connected;
    this.writableEnded = true;
    this.kill();
    if (wasConnected) this.network.send(this, { kind: 'end' });
    this.later('close', () => this.emitClose());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.inbox.length > 0) this.later('resume', () => this.flushInbox());
  }

  on(event: 'data', listener: DataListener): this;
  on(event: 'drain' | 'close', listener: VoidListener): this;
  on(event: 'error', listener: ErrorListener): this;
  on(event: 'data' | 'drain' | 'close' | 'error', listener: DataListener | VoidListener | ErrorListener): this {
    if (event === 'data') this.dataListeners.push(listener as DataListener);
    else if (event === 'drain') this.drainListeners.push(listener as VoidListener);
    else if (event === 'close') this.closeListeners.push(listener as VoidListener);
    else this.errorListeners.push(listener as ErrorListener);
    return this;
  }

  /** @internal The connection is up: queued writes leave. */
  open(peer: SimStream): void {
    this.peer = peer;
    this.connected = true;
    if (this.writableEnded && this.waiting.length === 0) {
      this.network.send(this, { kind: 'end' });
      return;
    }
    for (const bytes of this.waiting.splice(0)) this.network.send(this, { kind: 'data', bytes });
    if (this.writableEnded) this.network.send(this, { kind: 'end' });
  }

  /** @internal Nobody listens where this stream dialled. */
  refused(): void {
    if (this.dead) return;
    this.kill();
    const error = Object.assign(new Error(`ECONNREFUSED: nothing listens on ${this.remoteHost}`), { code: 'ECONNREFUSED' });
    for (const listener of this.errorListeners) listener(error);
    this.emitClose();
  }

  /** @internal Bytes from the peer. */
  receive(chunk: Uint8Array, writer: SimStream): void {
    if (this.paused || this.inbox.length > 0) {
      this.inbox.push({ chunk, writer });
      return;
    }
    this.handOver(chunk, writer);
  }

  /** @internal The peer ended its side (or its host died): this end closes too. */
  remoteEnded(): void {
    if (this.dead) return;
    if (this.inbox.length > 0) {
      // What the reader has not taken yet is still handed over first (after resume).
      this.closeAfterInbox = true;
      return;
    }
    this.closeBoth();
  }

  /** @internal Ends this side with no event (its host died, or it closed). */
  kill(): void {
    this.dead = true;
    this.connected = false;
    this.waiting.length = 0;
    this.corked = [];
    this.network.forget(this);
  }

  /** Bytes (a copy of their own) leave now, or once the connection is up. */
  private push(bytes: Uint8Array): void {
    if (this.connected) this.network.send(this, { kind: 'data', bytes });
    else this.waiting.push(bytes);
  }

  /** The writes a cork held leave as one packet. */
  private flushCorked(): void {
    const held = this.corked;
    if (held.length === 0 || this.dead) return;
    this.corked = [];
    if (held.length === 1) {
      this.push(held[0]!.slice());
      return;
    }
    let length = 0;
    for (const bytes of held) length += bytes.length;
    // A slice of Node's buffer pool for small packets: no allocation of its own.
    const joined = Buffer.allocUnsafe(length);
    let at = 0;
    for (const bytes of held) {
      joined.set(bytes, at);
      at += bytes.length;
    }
    this.push(joined);
  }

  private flushInbox(): void {
    while (!this.paused && !this.dead && this.inbox.length > 0) {
      const { chunk, writer } = this.inbox.shift()!;
      this.handOver(chunk, writer);
    }
    if (this.inbox.length === 0 && this.closeAfterInbox && !this.dead) this.closeBoth();
  }

  private handOver(chunk: Uint8Array, writer: SimStream): void {
    for (const listener of this.dataListeners) listener(chunk);
    writer.delivered(chunk.length);
  }

  /** Bytes this stream wrote reached the reader. */
  private delivered(bytes: number): void {
    this.backlog -= bytes;
    if (this.backlog === 0 && this.writableNeedDrain && !this.dead) {
      this.writableNeedDrain = false;
      this.later('drain', () => {
        if (!this.dead) for (const listener of this.drainListeners) listener();
      });
    }
  }

  /** The peer ended: this side ends too (no half-open streams), and closes. */
  private closeBoth(): void {
    if (!this.writableEnded) {
      this.writableEnded = true;
      this.network.send(this, { kind: 'end' });
    }
    this.kill();
    this.emitClose();
  }

  private emitClose(): void {
    for (const listener of this.closeListeners) listener();
  }

  private later(label: string, run: () => void): void {
    this.network.scheduler.after(0, run, `stream ${this.localHost}>${this.remoteHost} ${label}`, this.localHost);
  }
}
