/**
 * The transport seam under the cluster server: listen on an address, dial one, and move bytes
 * over a stream. `tcpTransport` (transport-tcp.ts) is TCP or TLS over node:net/node:tls; a test or
 * a simulator supplies its own (an in-memory network), and the cluster code above runs unchanged.
 *
 * `ByteStream` is exactly what the cluster's connections use of a `net.Socket`, in its shape, so
 * that a TCP socket is a ByteStream as it is (no wrapper, nothing allocated per write). Its
 * contract, for any implementation:
 * - `write` never throws: it queues the bytes and answers false once a backlog builds ('drain'
 *   follows when it has gone; `writableNeedDrain` is true meanwhile). The bytes must not be
 *   changed by the caller until they are delivered or the stream is gone (an implementation may
 *   keep a reference instead of copying).
 * - 'data' hands chunks in order, split and joined anywhere; a chunk is the receiver's to keep.
 * - `end` sends what is queued and then closes the writing side; `destroy` drops everything.
 *   Either way 'close' comes once, later (never from inside the call), possibly after 'error'.
 * - `pause` stops 'data' until `resume` (the peer is held back by the stream's flow control).
 */

/** A host (name or address) and a port. */
export interface TransportAddress {
  host: string;
  port: number;
}

/** One connection's bytes, both directions. */
export interface ByteStream {
  /** Queues `bytes`; false when the stream has a backlog (wait for 'drain'). */
  write(bytes: Uint8Array): boolean;
  /** Holds writes back until `uncork`, to send them together. */
  cork(): void;
  uncork(): void;
  /** True after `write` answered false and until 'drain'. */
  readonly writableNeedDrain: boolean;
  /** True once `end` (or `destroy`) was called. */
  readonly writableEnded: boolean;
  /** Sends what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
  /** Stops / restarts delivering 'data'. */
  pause(): void;
  resume(): void;
  on(event: 'data', listener: (chunk: Uint8Array) => void): this;
  on(event: 'drain' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

/** A listening endpoint. */
export interface Listener {
  /** Where it listens (the port chosen for port 0). */
  address(): TransportAddress;
  /** Stops accepting; streams already accepted stay open. Resolves once it is closed. */
  close(): Promise<void>;
}

/** What a listener reports besides the streams it accepts. */
export interface ListenEvents {
  /** A connection that failed before it became a stream (a TLS handshake): not fatal. */
  refused(error: Error): void;
  /** The listener failed after it started. */
  error(error: Error): void;
}

export interface Transport {
  /** Listens on `address`; resolves once listening, rejects when it cannot (port in use). */
  listen(address: TransportAddress, onStream: (stream: ByteStream) => void, events: ListenEvents): Promise<Listener>;
  /** A stream to `address`, connecting: writes are queued until it is up; a failure ends in 'error' and 'close'. */
  dial(address: TransportAddress): ByteStream;
  /** The addresses a host name stands for (DNS for TCP); an address answers itself. */
  resolve(host: string): Promise<string[]>;
}
