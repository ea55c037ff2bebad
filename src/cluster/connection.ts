/**
 * One TCP (or TLS) connection to another node: framing, the authenticating handshake, and the two
 * write lanes.
 *
 * Design note (the connection runs on the main thread's event loop; everything here is callbacks):
 * - The connection owns one ByteStream (src/net/transport.ts: a TCP or TLS socket in production)
 *   and takes its timers from the host (src/internal/host.ts); it reads no clock itself.
 * - Handshake: both sides send Hello as soon as the socket is up, answer the peer's Hello with
 *   Auth (HMAC proof over the peer's fresh challenge, see handshake-crypto.ts), and become
 *   authenticated when the peer's Auth verifies. Until then the frame limit is
 *   HANDSHAKE_MAX_FRAME_BYTES, any frame but Hello/Auth (in that order) closes the connection, and
 *   a handshake that has not finished within `handshakeTimeoutMs` is closed. A wrong version, a
 *   wrong proof, a peer using our own name or node number: closed, with the reason counted.
 * - Lanes: control frames (acks, heartbeats, gossip) are written at once; data (batch fragments)
 *   only while the socket has no backlog (`canSendData`), so a control frame never waits behind
 *   more than one fragment. The owner resumes data on the 'drain' callback.
 * - Every failure ends in exactly one `closed(reason)` callback; the stream is destroyed (after a
 *   `bye`, once its queued bytes had a second to leave).
 */
import type { TimerHandle, Timers } from '../internal/host.js';
import { ErrorCode, HordeError } from '../errors.js';
import { FRAME_PREFIX_BYTES, FrameDecoder } from '../net/framing.js';
import type { ByteStream } from '../net/transport.js';
import { createChallenge, proveSecret, verifyProof } from './handshake-crypto.js';
import { systemEntropy, type Entropy } from '../internal/host.js';
import { PROTOCOL_VERSION, Role, decodeFrame, encodeBatchHead, encodeFrame, type Hello, type WireFrame } from './wire.js';

/** Frames before authentication are small: a stranger cannot make the node allocate. */
export const HANDSHAKE_MAX_FRAME_BYTES = 2048;

export interface LocalIdentity {
  name: string;
  nodeId: number;
  incarnation: string;
  host: string;
  port: number;
  role: Role;
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
}

export interface ConnectionEvents {
  /** The peer proved the secret; frames follow through `frame`. */
  authenticated(connection: Connection, peer: Hello): void;
  frame(connection: Connection, frame: WireFrame): void;
  /** The stream's backlog drained: data may be sent again. */
  drain(connection: Connection): void;
  closed(connection: Connection, reason: string, code: string | undefined): void;
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  peer: Hello | undefined;
  private readonly decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly challenge: Uint8Array;
  private authenticated = false;
  private closedReason: string | undefined;
  private readonly handshakeTimer: TimerHandle;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly stream: ByteStream,
    /** True when this node dialed. */
    readonly dialed: boolean,
    private readonly identity: LocalIdentity,
    private readonly secret: Uint8Array,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
    private readonly timers: Timers,
    entropy: Entropy = systemEntropy,
  ) {
    this.challenge = createChallenge(entropy);
    this.handshakeTimer = timers.timeout(() => this.fail(ErrorCode.HANDSHAKE_FAILED, `handshake not finished within ${limits.handshakeTimeoutMs} ms`), limits.handshakeTimeoutMs);
    stream.on('data', (chunk: Uint8Array) => this.onData(chunk));
    stream.on('drain', () => {
      if (this.authenticated && this.closedReason === undefined) this.events.drain(this);
    });
    stream.on('error', (error: Error) => this.fail(ErrorCode.CONNECTION_CLOSED, `socket error: ${error.message}`));
    stream.on('close', () => this.fail(ErrorCode.CONNECTION_CLOSED, 'closed by peer'));
    this.sendControl({
      kind: 'hello',
      hello: { version: PROTOCOL_VERSION, name: identity.name, node_id: identity.nodeId, incarnation: identity.incarnation, challenge: this.challenge, role: identity.role, host: identity.host, port: identity.port },
    });
  }

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Writes a control frame now (it is never held behind data beyond one fragment). */
  sendControl(frame: WireFrame): void {
    if (this.closedReason !== undefined) return;
    this.writeFramed(encodeFrame(frame));
  }

  /** True while the stream has no backlog: the owner may write the next data fragment. */
  get canSendData(): boolean {
    return this.closedReason === undefined && !this.stream.writableNeedDrain;
  }

  /** Writes a data frame; returns false when the stream now has a backlog (wait for drain). */
  sendData(frame: WireFrame): boolean {
    if (this.closedReason !== undefined) return false;
    return this.writeFramed(encodeFrame(frame));
  }

  /**
   * Writes one Batch frame as its head and then the data as it is (no copy). The data must stay
   * unchanged until the peer acknowledges the batch (the session guarantees it).
   */
  sendBatch(seq: number, data: Uint8Array, last: boolean, ack: number, lane: number): boolean {
    if (this.closedReason !== undefined) return false;
    const head = encodeBatchHead(seq, data.length, last, ack, lane);
    this.bytesOut += head.length + data.length;
    this.stream.cork();
    this.stream.write(head);
    const ok = this.stream.write(data);
    this.stream.uncork();
    return ok;
  }

  /** Writes a frame already encoded with its length prefix (encodeAckFrame). */
  sendEncoded(framed: Uint8Array): boolean {
    if (this.closedReason !== undefined) return false;
    this.bytesOut += framed.length;
    return this.stream.write(framed);
  }

  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    if (this.closedReason === undefined) this.stream.resume();
  }

  /** Closes with a reason; `bye` tells the peer why first (and whether we leave for good). */
  close(reason: string, bye?: { leaving: boolean }): void {
    if (this.closedReason !== undefined) return;
    if (bye !== undefined && this.authenticated) {
      this.sendControl({ kind: 'bye', reason, leaving: bye.leaving });
      this.stream.end();
    }
    this.fail(undefined, reason);
  }

  private writeFramed(payload: Uint8Array): boolean {
    const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
    prefix.writeUInt32BE(payload.length);
    this.bytesOut += FRAME_PREFIX_BYTES + payload.length;
    this.stream.cork();
    this.stream.write(prefix);
    const ok = this.stream.write(payload);
    this.stream.uncork();
    return ok;
  }

  private fail(code: string | undefined, reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.timers.clear(this.handshakeTimer);
    if (!this.stream.writableEnded) this.stream.destroy();
    else this.timers.timeout(() => this.stream.destroy(), 1000, true);
    this.events.closed(this, reason, code);
  }

  private onData(chunk: Uint8Array): void {
    this.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk, (bytes) => {
        if (this.closedReason !== undefined) return;
        this.onFrame(decodeFrame(bytes));
      });
    } catch (error) {
      const code = error instanceof HordeError ? error.code : ErrorCode.MALFORMED_FRAME;
      this.fail(code, error instanceof Error ? error.message : String(error));
    }
  }

  private onFrame(frame: WireFrame): void {
    if (this.authenticated) {
      this.events.frame(this, frame);
      return;
    }
    if (frame.kind === 'hello' && this.peer === undefined) {
      this.onHello(frame.hello);
      return;
    }
    if (frame.kind === 'auth' && this.peer !== undefined) {
      const context = { prover: this.peer.name, incarnation: this.peer.incarnation, verifier: this.identity.name };
      if (!verifyProof(this.secret, this.challenge, context, frame.proof)) {
        throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `peer "${this.peer.name}" failed authentication (wrong secret or replayed proof)`);
      }
      this.authenticated = true;
      this.timers.clear(this.handshakeTimer);
      this.decoder.setMaxFrameBytes(this.limits.maxFrameBytes);
      this.events.authenticated(this, this.peer);
      return;
    }
    throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `unexpected ${frame.kind} frame before authentication`);
  }

  private onHello(hello: Hello): void {
    if (hello.version !== PROTOCOL_VERSION) {
      throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `protocol version ${hello.version} is not ours (${PROTOCOL_VERSION})`);
    }
    if (hello.name.length === 0) throw new HordeError(ErrorCode.HANDSHAKE_FAILED, 'peer sent an empty node name');
    if (hello.incarnation.length === 0) throw new HordeError(ErrorCode.HANDSHAKE_FAILED, 'peer sent an empty incarnation');
    if (hello.role === Role.STATUS && (this.dialed || this.identity.role !== Role.MEMBER)) {
      throw new HordeError(ErrorCode.HANDSHAKE_FAILED, 'a status client may only connect to a member');
    }
    if (hello.role === Role.MEMBER) {
      if (hello.name === this.identity.name) throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `peer uses our own name "${hello.name}" (a connection to ourselves?)`);
      if (!Number.isInteger(hello.node_id) || hello.node_id < 1 || hello.node_id > 0xffff) {
        throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `peer node number ${hello.node_id} is out of range`);
      }
      if (hello.node_id === this.identity.nodeId && this.identity.role === Role.MEMBER) {
        throw new HordeError(ErrorCode.NODE_ID_CONFLICT, `peer "${hello.name}" uses our node number ${hello.node_id}`);
      }
    }
    this.peer = hello;
    const proof = proveSecret(this.secret, hello.challenge, { prover: this.identity.name, incarnation: this.identity.incarnation, verifier: hello.name });
    this.sendControl({ kind: 'auth', proof });
  }
}
