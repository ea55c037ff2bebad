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
 * Time limits (connection-stages.ts): after every chunk read, every change of its requests and
 * every pause or resume, the connection puts itself in the stage it is now in: FIRST_FRAME (no
 * whole frame yet, while read), FRAME (a frame started, while read; a new deadline only when a new
 * frame starts), IDLE (nothing in flight and no frame started, paused or not) or none (requests
 * in flight, or waiting for a frame while the gateway does not read it). The gateway's sweep
 * closes those past their deadline.
 *
 * Closing: `goodbye(reason)` writes a last frame with the reason, ends the socket and destroys
 * it after a grace period if the client does not close its side. From that moment the connection
 * counts as closed (`closed` is reported once, then): replies that arrive for it later are
 * dropped (and counted by the gateway), and nothing more is read from it.
 */

import type { Socket } from 'node:net';
import { ErrorCode, HordeError } from '../errors.js';
import { MicrotaskCork } from '../net/microtask-cork.js';
import { FrameDecoder } from '../net/framing.js';
import { encodeServerMessage, toFailure, type Failure, type ServerMessage } from './protocol.js';
import { Stage, type ConnectionStages } from './connection-stages.js';

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
  /** The connection stopped being open (a goodbye, a destroy, or the socket closed); reported once. */
  closed(connection: GatewayConnection): void;
}

/** What the connection's time limits need from the gateway: the stages of all its connections and the clock. */
export interface ConnectionTiming {
  stages: ConnectionStages<GatewayConnection>;
  now(): number;
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
  /** Whole frames read so far. */
  private framesRead = 0;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
    private readonly timing: ConnectionTiming,
  ) {
    this.decoder = new FrameDecoder(limits.maxFrameBytes);
    this.cork = new MicrotaskCork(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.events.socketError(this, error));
    socket.on('close', () => this.markClosed());
  }

  /**
   * Starts the time limits of a connection the gateway serves (a refused one never starts): it
   * is silent, and waits for its first frame.
   */
  start(): void {
    this.timing.stages.addSilent(this);
    this.refreshStage(false);
  }

  /** True while this connection has sent no byte at all. */
  get silent(): boolean {
    return this.timing.stages.isSilent(this);
  }

  /**
   * Puts the connection in the stage its state calls for (see the design note). `frameStarted`:
   * a frame began in the chunk just read, so a FRAME deadline starts again. The gateway calls it
   * after it changes `outstanding` or `held`.
   */
  refreshStage(frameStarted = false): void {
    if (this.closing) return;
    const stage = this.stageNow();
    const { stages } = this.timing;
    const current = stages.stageOf(this);
    if (stage !== current || (stage === Stage.FRAME && frameStarted)) stages.enter(this, stage, this.timing.now());
  }

  private stageNow(): Stage | undefined {
    const reading = this.pauses === 0;
    if (this.decoder.pendingBytes > 0 || this.framesRead === 0) {
      if (!reading) return undefined;
      return this.framesRead === 0 ? Stage.FIRST_FRAME : Stage.FRAME;
    }
    if (this.outstanding.size > 0 || this.held.length > 0) return undefined;
    return Stage.IDLE;
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
    this.refreshStage();
  }

  resume(reason: PauseReason): void {
    this.pauses &= ~reason;
    if (this.pauses === 0 && !this.closing) {
      this.socket.resume();
      this.refreshStage();
    }
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
      this.events.writeOverflow(this);
      const unread = this.socket.writableLength;
      this.markClosed();
      this.socket.destroy(new HordeError(ErrorCode.OVERLOADED, `client left ${unread} bytes of replies unread`));
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

  /**
   * Says why, then closes. Idempotent. `idle`: nothing is in flight and every request read was
   * answered, so the client may send again what it still waits for (client.proto's Goodbye).
   */
  goodbye(reason: Failure, idle = false): void {
    if (this.closing) return;
    this.markClosed();
    this.socket.pause();
    this.socket.end(encodeServerMessage(idle ? { goodbye: reason, idle } : { goodbye: reason }, this.limits.maxFrameBytes));
    setTimeout(() => this.socket.destroy(), GOODBYE_GRACE_MS).unref();
  }

  private markClosed(): void {
    if (this.closing) return;
    this.closing = true;
    this.timing.stages.remove(this);
    this.events.closed(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.framesRead === 0) this.timing.stages.heard(this);
    const framesBefore = this.framesRead;
    try {
      this.decoder.push(chunk, (frame) => {
        this.framesRead++;
        if (!this.closing) this.events.frame(this, frame);
      });
    } catch (error) {
      this.goodbye(toFailure(error));
      const tooLarge = this.decoder.failed;
      if (tooLarge !== undefined) this.events.oversize(this, tooLarge);
      else this.events.socketError(this, error instanceof Error ? error : new HordeError(ErrorCode.UNKNOWN, String(error)));
      return;
    }
    this.refreshStage(this.framesRead !== framesBefore);
  }
}
