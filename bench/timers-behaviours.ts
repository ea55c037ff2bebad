// Process kinds for the timer-lateness case of the `timers` suite (loaded by executor workers).
import { defineBehaviours, type Context, type Process, type ReplyToken, type SystemMessage } from '../src/index.js';

type SamplerMsg = { type: 'run'; timers: number; maxDelayMs: number } | { type: 'fired'; due: number };

/** Starts `timers` timers with spread delays and answers with each one's lateness in microseconds. */
class LatenessSampler implements Process<SamplerMsg> {
  private lateness: number[] = [];
  private expected = 0;
  private token: ReplyToken | undefined;

  receive(msg: SamplerMsg | SystemMessage, ctx: Context<SamplerMsg>): void {
    if (!('type' in msg)) return;
    if (msg.type === 'run') {
      this.lateness = [];
      this.expected = msg.timers;
      this.token = ctx.replyToken();
      for (let i = 0; i < msg.timers; i++) {
        const delay = 1 + ((i * 7919) % msg.maxDelayMs);
        ctx.startTimer(delay, { type: 'fired', due: ctx.now + delay });
      }
      return;
    }
    if (msg.type === 'fired') {
      this.lateness.push(Math.max(0, (ctx.now - msg.due) * 1000));
      if (this.lateness.length === this.expected) ctx.reply(this.lateness, this.token);
    }
  }
}

type LoadMsg = { type: 'go'; until: number };

/** Keeps its shard busy until `until` (a CPU-bound turn per message, then sends itself another). */
class Load implements Process<LoadMsg> {
  receive(msg: LoadMsg | SystemMessage, ctx: Context<LoadMsg>): void {
    if (!('type' in msg) || msg.type !== 'go') return;
    let x = 0;
    for (let i = 0; i < 20_000; i++) x += Math.sqrt(i);
    if (ctx.now < msg.until && x > 0) ctx.send(ctx.self, msg);
  }
}

export const behaviours = defineBehaviours({
  'lateness-sampler': () => new LatenessSampler(),
  'lateness-load': () => new Load(),
});
