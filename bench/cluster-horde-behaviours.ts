// Process kinds of horde's side of the `cluster` suite (both node processes load them).
import { defineBehaviours, Down, Exit } from '../src/process/types.js';
import type { Context, Process, ReplyToken, SystemMessage } from '../src/process/types.js';
import type { Pid } from '../src/process/pid.js';

export type SinkMsg = string | { type: 'expect'; count: number };

/** Counts every string it gets; answers an `expect` once it has counted that many, then restarts. */
export class CountingSink implements Process<SinkMsg> {
  private count = 0;
  private expected = -1;
  private waiter: ReplyToken | undefined;
  receive(msg: SinkMsg | SystemMessage, ctx: Context<SinkMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (typeof msg === 'string') this.count++;
    else {
      this.expected = msg.count;
      this.waiter = ctx.replyToken();
    }
    if (this.waiter !== undefined && this.count >= this.expected) {
      ctx.reply(this.count, this.waiter);
      this.waiter = undefined;
      this.count = 0;
    }
  }
}

export type BlasterMsg = { type: 'blast'; to: Pid<SinkMsg>; count: number; payload: string } | { type: 'more' };

/** Sends `count` copies of `payload` to `to`, 1,000 a turn (back pressure applies between turns). */
export class Blaster implements Process<BlasterMsg> {
  private to: Pid<SinkMsg> | undefined;
  private left = 0;
  private payload = '';
  receive(msg: BlasterMsg | SystemMessage, ctx: Context<BlasterMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'blast') {
      this.to = msg.to;
      this.left = msg.count;
      this.payload = msg.payload;
    }
    const n = Math.min(this.left, 1000);
    for (let i = 0; i < n; i++) ctx.send(this.to!, this.payload);
    this.left -= n;
    if (this.left > 0) ctx.send(ctx.self, { type: 'more' });
  }
}

export class Echo implements Process<unknown> {
  receive(msg: unknown, ctx: Context<unknown>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    ctx.reply(msg);
  }
}

export const behaviours = defineBehaviours({
  'bench-sink': () => new CountingSink(),
  'bench-blaster': () => new Blaster(),
  'bench-echo': () => new Echo(),
});
