// Process kinds for the `fairness` suite (bench/fairness.ts loads them into the executors).
import { Down, Exit, defineBehaviours, type Context, type Process, type SystemMessage } from '../src/index.js';

export type NeighbourMsg = { type: 'start'; backlog: number; costUs: number } | { type: 'work' } | { type: 'count' };

/**
 * Keeps `backlog` messages in its own mailbox: each spends `costUs` of CPU (a busy loop) and sends
 * itself the next. `count` answers how many it has handled (behind the backlog, like any message).
 */
class Neighbour implements Process<NeighbourMsg> {
  private costMs = 0;
  private handled = 0;

  receive(msg: NeighbourMsg | SystemMessage, ctx: Context<NeighbourMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    switch (msg.type) {
      case 'start':
        this.costMs = msg.costUs / 1e3;
        for (let i = 0; i < msg.backlog; i++) ctx.send(ctx.self, { type: 'work' });
        break;
      case 'work': {
        const until = performance.now() + this.costMs;
        while (performance.now() < until);
        this.handled++;
        ctx.send(ctx.self, msg);
        break;
      }
      case 'count':
        ctx.reply(this.handled);
        break;
    }
  }
}

/** Answers every message at once. */
class Echo implements Process<unknown> {
  receive(_msg: unknown, ctx: Context<unknown>): void {
    ctx.reply('pong');
  }
}

export const behaviours = defineBehaviours({
  'fairness-neighbour': () => new Neighbour(),
  'fairness-echo': () => new Echo(),
});
