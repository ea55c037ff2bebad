// counter.ts: a behaviour module lists process kinds; every executor thread loads it.
import { Down, Exit, defineBehaviours, type Context, type Process, type SystemMessage } from 'horde';

export type CounterMsg = { type: 'inc'; by: number } | { type: 'get' };

class Counter implements Process<CounterMsg> {
  private count = 0;
  receive(msg: CounterMsg | SystemMessage, ctx: Context<CounterMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'inc') this.count += msg.by;
    else if (msg.type === 'get') ctx.reply(this.count);
  }
}

export const behaviours = defineBehaviours({ counter: () => new Counter() });
