// Processes of the `sim` suite: a pacer sends a message to its target on every tick of a
// repeating timer; a sink counts what reaches it.
import { defineBehaviours, Down, Exit, type Context, type Pid, type Process, type SystemMessage } from '../src/index.js';

export type PacerMsg = { type: 'start'; to: Pid<SinkMsg>; everyMs: number } | { type: 'tick' };
export type SinkMsg = { type: 'n' } | { type: 'count' };

class Pacer implements Process<PacerMsg> {
  private to: Pid<SinkMsg> | undefined;
  receive(msg: PacerMsg | SystemMessage, ctx: Context<PacerMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'start') {
      this.to = msg.to;
      ctx.startTimer(msg.everyMs, { type: 'tick' }, { repeat: true });
    } else if (this.to !== undefined) {
      ctx.send(this.to, { type: 'n' });
    }
  }
}

class Sink implements Process<SinkMsg> {
  private count = 0;
  receive(msg: SinkMsg | SystemMessage, ctx: Context<SinkMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'n') this.count++;
    else ctx.reply(this.count);
  }
}

export const behaviours = defineBehaviours({
  pacer: () => new Pacer(),
  sink: () => new Sink(),
});
