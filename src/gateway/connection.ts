/**
 * One client connection on the gateway's side: reading frames, writing replies, pausing.
 *
 * Reading: socket chunks go through a FrameDecoder bounded by maxFrameBytes (checked before any
 * allocation); each complete frame goes to the gateway synchronously. A frame over the limit
 * closes the connection with a goodbye naming the reason.
 *
 * Pausing: reading stops while any reason holds (a bit set): THROTTLE (the gateway is not
 * admitting and this client is not to be read from) or BACKLOG (the socket's write buffer is
 * above its high-water mark: the client is not reading its replies, so stop reading its
 * requests). With reading paused, TCP carries the pressure back to the client.
 *
 * Bounds: bytes held for reading are at most one frame (the decoder) plus what the socket read
 * before the pause; requests held are at most pipelineAllowance (the gateway's rule); bytes
 * waiting to be written are at most maxWriteBufferBytes plus one frame: past that the connection
 * is destroyed (a client that never reads cannot grow the node's memory).
 *
 * Closing: `goodbye(reason)` writes a last frame with the reason, ends the socket and destroys
 * it after a grace period if the client does not close its side. From that moment the connection
 * counts as closed: replies that arrive for it later are dropped (and counted by the gateway).
 */

import type { Socket } from 'node:net';
import { ErrorCode, HordeError } from '../errors.js';
import { MicrotaskCork } from '../net/microtask-cork.js';
import { FrameDecoder } from '../net/framing.js';
import { encodeServerMessage, toFailure, type Failure, type ServerMessage } from './protocol.js';

export const PauseReason = {
  THROTTLE: 1,
  BACKLOG: 2,
} as const;
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];

/** A request read while the gateway was not admitting: it runs when admission resumes. */
export interface HeldRequest {
  id: number;
  service: string;
  msg: unknown;
  timeoutMs: number;
  arrivedAt: number;
}

export interface ConnectionEvents {
  frame(connection: GatewayConnection, bytes: Uint8Array): void;
  /** A frame over the size limit (the connection is already saying goodbye). */
  oversize(connection: GatewayConnection, error: HordeError): void;
  /** The client left its replies unread past maxWriteBufferBytes (the connection is destroyed). */
  writeOverflow(connection: GatewayConnection): void;
  socketError(connection: GatewayConnection, error: Error): void;
  closed(connection: GatewayConnection): void;
}

export interface ConnectionLimits {
  maxFrameBytes: number;
  maxWriteBufferBytes: number;
}

/** How long a goodbye waits for the client to close before the socket is destroyed. */
const GOODBYE_GRACE_MS = 2_000;

export class GatewayConnection {
  /** Requests running in services: request id -> arrival time. */
  readonly outstanding = new Map<number, number>();
  readonly held: HeldRequest[] = [];
  private readonly decoder: FrameDecoder;
  private pauses = 0;
  private closing = false;
  private waitingForDrain = false;
  private readonly cork: MicrotaskCork;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    this.cork = new MicrotaskCork(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.events.socketError(this, error));
    socket.on('close', () => {
      this.closing = true;
      this.events.closed(this);
    });
  }

  /** False once a goodbye was said or the socket closed: replies for it are dropped. */
  get open(): boolean {
    return !this.closing;
  }

  get paused(): boolean {
    return this.pauses !== 0;
  }

  pause(reason: PauseReason): void {
    this.pauses |= reason;
    this.socket.pause();
  }

  resume(reason: PauseReason): void {
    this.pauses &= ~reason;
    if (this.pauses === 0 && !this.closing) this.socket.resume();
  }

  /**
   * Writes one message. Throws HORDE_FRAME_TOO_LARGE (nothing written) when it does not fit in a
   * frame; returns false when the connection is closed.
   */
  send(message: ServerMessage): boolean {
    if (this.closing) return false;
    const frame = encodeServerMessage(message, this.limits.maxFrameBytes);
    // Replies made in one stretch of main-thread work (a chunk of requests shed, a burst of
    // answers) leave in one write system call.
    const below = this.cork.write(frame);
    if (this.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.closing = true;
      this.events.writeOverflow(this);
      this.socket.destroy(new HordeError(ErrorCode.OVERLOADED, `client left ${this.socket.writableLength} bytes of replies unread`));
      return false;
    }
    if (!below && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.pause(PauseReason.BACKLOG);
      this.socket.once('drain', () => {
        this.waitingForDrain = false;
        this.resume(PauseReason.BACKLOG);
      });
    }
    return true;
  }

  /** Says why, then closes. Idempotent. */
  goodbye(reason: Failure): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.pause();
    this.socket.end(encodeServerMessage({ goodbye: reason }, this.limits.maxFrameBytes));
    setTimeout(() => this.socket.destroy(), GOODBYE_GRACE_MS).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.decoder.push(chunk, (frame) => {
        if (!this.closing) this.events.frame(this, frame);
      });
    } catch (error) {
      this.goodbye(toFailure(error));
      const tooLarge = this.decoder.failed;
      if (tooLarge !== undefined) this.events.oversize(this, tooLarge);
      else this.events.socketError(this, error instanceof Error ? error : new HordeError(ErrorCode.UNKNOWN, String(error)));
    }
  }
}
