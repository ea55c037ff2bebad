// Writes made in one stretch of synchronous code leave a socket in one write system call: the
// first write after a microtask checkpoint corks the socket, and the checkpoint uncorks it.
import type { Socket } from 'node:net';

export class MicrotaskCork {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /** Writes `chunk` (corked until the current microtask checkpoint); answers `socket.write`'s result. */
  write(chunk: Uint8Array): boolean {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    return this.socket.write(chunk);
  }
}
