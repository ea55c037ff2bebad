/**
 * Listening and dialling for the cluster server: the Transport (src/net/transport.ts; TCP or TLS
 * in production), every open Connection, the seeds, and the count of closed connections by reason.
 *
 * Design note (main thread's event loop; timers from the host):
 * - Every stream, accepted or dialled, becomes a Connection at once (it says Hello; the
 *   handshake is connection.ts's). The connector keeps the set of open ones and forwards their
 *   events to the server; a connection leaves the set on its `closed` event, whose reason code
 *   is counted (all but a plain HORDE_CONNECTION_CLOSED).
 * - Seeds are resolved (DNS, through the transport) and dialled at start and every
 *   `seedRefreshMs`, each address unless the server says it is this node or a peer already
 *   connected there. An unresolvable seed is reported and tried again at the next refresh.
 * - After `stop` nothing is dialled and an accepted stream is closed as soon as it is adopted.
 */
import { ErrorCode } from '../errors.js';
import type { Entropy, TimerHandle, Timers } from '../internal/host.js';
import type { ByteStream, Listener, Transport, TransportAddress } from '../net/transport.js';
import { Connection, type ConnectionEvents, type LocalIdentity } from './connection.js';
import { parseAddress, type ResolvedClusterOptions } from './options.js';

export type ConnectorOptions = Pick<ResolvedClusterOptions, 'host' | 'port' | 'seeds' | 'secret' | 'maxFrameBytes' | 'handshakeTimeoutMs' | 'seedRefreshMs'>;

export interface ConnectorEvents extends ConnectionEvents {
  /** The identity this node presents in a new connection's Hello. */
  identity(): LocalIdentity;
  /** True for a seed address not to dial: this node itself, or a peer connected there. */
  skipSeed(address: string, host: string, port: number): boolean;
  report(detail: unknown): void;
}

export class Connector {
  private listener: Listener | undefined;
  private readonly connections = new Set<Connection>();
  private readonly seedTimer: TimerHandle;
  private stopping = false;
  /** Connections closed, by reason code. */
  readonly closed: Record<string, number> = {};

  constructor(
    private readonly options: ConnectorOptions,
    private readonly transport: Transport,
    private readonly timers: Timers,
    private readonly entropy: Entropy,
    private readonly events: ConnectorEvents,
  ) {
    this.seedTimer = timers.interval(() => void this.dialSeeds(), options.seedRefreshMs, true);
  }

  /** Listens on the configured address; resolves with the address bound (its port for port 0). */
  async listen(): Promise<TransportAddress> {
    this.listener = await this.transport.listen({ host: this.options.host, port: this.options.port }, (stream) => this.adopt(stream, false), {
      refused: (error) => {
        this.countClose(ErrorCode.TLS_FAILED);
        this.events.report({ event: 'tls-failed', error });
      },
      error: (error) => this.events.report({ event: 'server-error', error }),
    });
    return this.listener.address();
  }

  dial(host: string, port: number): void {
    if (this.stopping) return;
    this.adopt(this.transport.dial({ host, port }), true);
  }

  async dialSeeds(): Promise<void> {
    for (const seed of this.options.seeds) {
      const { host, port } = parseAddress('seed', seed);
      let addresses: string[];
      try {
        addresses = await this.transport.resolve(host);
      } catch (error) {
        this.events.report({ event: 'seed-unresolved', seed, error });
        continue;
      }
      for (const address of addresses) {
        if (this.stopping) return;
        if (!this.events.skipSeed(address, host, port)) this.dial(address, port);
      }
    }
  }

  countClose(code: string): void {
    this.closed[code] = (this.closed[code] ?? 0) + 1;
  }

  /** Test hook: destroys every connection's stream at once. */
  dropAll(): void {
    for (const connection of [...this.connections]) connection.stream.destroy();
  }

  /** Stops dialling and listening; closes every connection with `reason`. */
  async stop(reason: string): Promise<void> {
    this.stopping = true;
    this.timers.clear(this.seedTimer);
    for (const connection of [...this.connections]) connection.close(reason, { leaving: false });
    await this.listener?.close();
  }

  private adopt(stream: ByteStream, dialed: boolean): void {
    const events = this.events;
    const connection = new Connection(
      stream,
      dialed,
      events.identity(),
      this.options.secret,
      { maxFrameBytes: this.options.maxFrameBytes, handshakeTimeoutMs: this.options.handshakeTimeoutMs },
      {
        authenticated: (conn, hello) => events.authenticated(conn, hello),
        frame: (conn, frame) => events.frame(conn, frame),
        drain: (conn) => events.drain(conn),
        closed: (conn, reason, code) => {
          this.connections.delete(conn);
          if (code !== undefined && code !== ErrorCode.CONNECTION_CLOSED) this.countClose(code);
          events.closed(conn, reason, code);
        },
      },
      this.timers,
      this.entropy,
    );
    this.connections.add(connection);
    if (this.stopping) connection.close('node stopping');
  }
}
