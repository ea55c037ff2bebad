/**
 * Canary: the lightest process there is (kind `horde.canary`). It answers every message with the
 * message itself, at once. The client gateway keeps one on each executor shard and asks it
 * periodically: the round trip is the time a message waits in that shard's rings and run queue,
 * which is what the gateway throttles on.
 */

import { Down, Exit, type Context, type Process } from './types.js';

/** The built-in kind that answers every message with the message itself, at once (the gateway's latency probe). */
export const CANARY_KIND = 'horde.canary';

export class Canary implements Process {
  receive(msg: unknown, ctx: Context): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    ctx.reply(msg);
  }
}

/** Factory for the built-in kind table; the canary takes no arguments. */
export function canaryFactory(): Process {
  return new Canary();
}
