/**
 * horde's process kinds for the `node-*` cases of the `large` suite (bench/large.ts): a sender that
 * sends one large string after another to a sink on another shard, and the sink that counts them.
 *
 * The sender sends one message per receive and asks itself for the next, so back pressure paces
 * it: a message larger than the free room of the ring congests its destination, the sender is not
 * run until the overflow drained, and its next message waits in its mailbox meanwhile.
 */
import { Down, Exit, defineBehaviours, type Context, type Pid, type Process, type ReplyToken, type SystemMessage } from '../src/index.js';

export type SenderMsg = { type: 'prepare'; size: number } | { type: 'go'; to: Pid<SinkMsg>; count: number } | { type: 'next' };
export type SinkMsg = string | { type: 'await'; count: number };

class LargeSender implements Process<SenderMsg> {
  private body = '';
  private to: Pid<SinkMsg> | undefined;
  private left = 0;
  receive(msg: SenderMsg | SystemMessage, ctx: Context<SenderMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'prepare') {
      this.body = 'x'.repeat(msg.size);
      ctx.reply(msg.size);
      return;
    }
    if (msg.type === 'go') {
      this.to = msg.to;
      this.left = msg.count;
    }
    if (this.left <= 0 || this.to === undefined) return;
    ctx.send(this.to, this.body);
    if (--this.left > 0) ctx.send(ctx.self, { type: 'next' });
  }
}

class LargeSink implements Process<SinkMsg> {
  private received = 0;
  private target = -1;
  private size = -1;
  private token: ReplyToken | undefined;
  receive(msg: SinkMsg | SystemMessage, ctx: Context<SinkMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (typeof msg === 'string') {
      if (this.size < 0) this.size = msg.length;
      if (msg.length !== this.size) throw new Error(`large-sink: a message of ${msg.length} characters, not ${this.size}`);
      this.received++;
    } else {
      this.target = this.received + msg.count;
      this.token = ctx.replyToken();
    }
    if (this.token !== undefined && this.received >= this.target) {
      ctx.reply(this.received, this.token);
      this.token = undefined;
    }
  }
}

export const behaviours = defineBehaviours({
  'large-sender': () => new LargeSender(),
  'large-sink': () => new LargeSink(),
});
