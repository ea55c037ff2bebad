// The application's process kinds, written against the installed package only ('horde').
import {
  Down,
  Exit,
  IoResult,
  defineBehaviours,
  formatPid,
  messageTypeOf,
  registerMessageType,
  type Context,
  type ExitReason,
  type FileStat,
  type IoRequest,
  type LogReadResult,
  type Pid,
  type Process,
  type ReplyToken,
  type SystemMessage,
  type TimerOptions,
} from 'horde';

export const POINT = registerMessageType(
  'app.Point',
  `syntax = "proto3";
   package app;
   message Point { int32 x = 1; int32 y = 2; }`,
);

export type CounterMsg = { type: 'inc'; by: number } | { type: 'get' } | { type: 'preloaded' };

class Counter implements Process<CounterMsg> {
  private count: number;
  constructor(args: { start?: number } | undefined) {
    this.count = args?.start ?? 0;
  }
  receive(msg: CounterMsg | SystemMessage, ctx: Context<CounterMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'inc') this.count += msg.by;
    else if (msg.type === 'get') ctx.reply(this.count);
    else ctx.reply(globalThis.packageAppPreloaded === true);
  }
}

export type WatcherMsg = { type: 'link'; pid: Pid } | { type: 'monitor'; pid: Pid } | { type: 'seen' };
export interface Seen {
  exits: { from: string; reason: ExitReason }[];
  downs: { pid: string; reason: ExitReason }[];
}

/** Traps exits, links to and monitors whoever it is told to, and reports what it saw. */
class Watcher implements Process<WatcherMsg> {
  private readonly seen: Seen = { exits: [], downs: [] };
  init(ctx: Context<WatcherMsg>): void {
    ctx.trapExits(true);
  }
  receive(msg: WatcherMsg | SystemMessage, ctx: Context<WatcherMsg>): void {
    if (msg instanceof Exit) this.seen.exits.push({ from: formatPid(msg.from), reason: msg.reason });
    else if (msg instanceof Down) this.seen.downs.push({ pid: formatPid(msg.pid), reason: msg.reason });
    else if (msg.type === 'link') {
      ctx.link(msg.pid);
      ctx.reply('linked');
    } else if (msg.type === 'monitor') ctx.reply(ctx.monitor(msg.pid));
    else ctx.reply(this.seen);
  }
}

export type TimerMsg = { type: 'start'; ms: number } | { type: 'tick' } | { type: 'never' };

/** Starts a repeating timer and a cancelled one; answers the 'start' after the third tick. */
class Ticker implements Process<TimerMsg> {
  private ticks = 0;
  private repeating = 0;
  private token: ReplyToken | undefined;
  receive(msg: TimerMsg | SystemMessage, ctx: Context<TimerMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg.type === 'start') {
      const options: TimerOptions = { repeat: true };
      this.repeating = ctx.startTimer(msg.ms, { type: 'tick' }, options);
      ctx.cancelTimer(ctx.startTimer(msg.ms, { type: 'never' }));
      this.token = ctx.replyToken();
    } else if (msg.type === 'tick') {
      this.ticks++;
      if (this.ticks === 3) {
        ctx.cancelTimer(this.repeating);
        ctx.reply({ ticks: this.ticks }, this.token);
      }
    } else ctx.reply({ error: 'a cancelled timer fired' }, this.token);
  }
}

export type FilesMsg = { type: 'run' };
export interface FilesReport {
  read: unknown;
  stat: FileStat | undefined;
  list: unknown;
  missing: string | undefined;
  appended: unknown[];
  log: { offsets: number[]; texts: string[]; nextOffset: number } | undefined;
  square: unknown;
  refused: string | undefined;
  computePreloaded: unknown;
}

const STEPS: IoRequest[] = [
  { op: 'write', path: 'notes.txt', data: 'hello' },
  { op: 'append', path: 'notes.txt', data: ', world' },
  { op: 'read', path: 'notes.txt', encoding: 'utf8' },
  { op: 'stat', path: 'notes.txt' },
  { op: 'list', path: '.' },
  { op: 'read', path: 'missing.txt' },
  { op: 'logAppend', log: 'events', record: 'first' },
  { op: 'logAppend', log: 'events', record: new TextEncoder().encode('second') },
  { op: 'logRead', log: 'events', offset: 0 },
];

/**
 * Runs the file and durable-log requests one after another, then two compute tasks. Answers are
 * told from requests by `instanceof IoResult` (the package's export): were it another class, no
 * answer would be recognized and the run would never end.
 */
class Files implements Process<FilesMsg> {
  private step = 0;
  private token: ReplyToken | undefined;
  private readonly results: IoResult[] = [];
  receive(msg: FilesMsg | IoResult | SystemMessage, ctx: Context<FilesMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if (msg instanceof IoResult) {
      this.results.push(msg);
      this.next(ctx);
      return;
    }
    this.token = ctx.replyToken();
    this.next(ctx);
  }
  private next(ctx: Context<FilesMsg>): void {
    const at = this.step++;
    if (at < STEPS.length) ctx.io(STEPS[at]!);
    else if (at === STEPS.length) ctx.compute('square', 12);
    else if (at === STEPS.length + 1) ctx.compute('refuse', null);
    else if (at === STEPS.length + 2) ctx.compute('preloaded', null);
    else ctx.reply(this.report(), this.token);
  }
  private report(): FilesReport {
    const r = this.results;
    const log = r[8]?.value as LogReadResult | undefined;
    const decoder = new TextDecoder();
    return {
      read: r[2]?.value,
      stat: r[3]?.value as FileStat | undefined,
      list: r[4]?.value,
      missing: r[5]?.error?.code,
      appended: [r[6]?.value, r[7]?.value],
      log: log === undefined ? undefined : { offsets: log.records.map((record) => record.offset), texts: log.records.map((record) => decoder.decode(record.data)), nextOffset: log.nextOffset },
      square: r[9]?.value,
      refused: r[10]?.error?.code,
      computePreloaded: r[11]?.value,
    };
  }
}

export type PointSinkMsg = { x: number; y: number } | { type: 'last' };

/** Keeps the last point it got and the registered type it arrived as. */
class PointSink implements Process<PointSinkMsg> {
  private last: unknown;
  receive(msg: PointSinkMsg | SystemMessage, ctx: Context<PointSinkMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    if ('type' in msg) ctx.reply(this.last);
    else this.last = { x: msg.x, y: msg.y, type: messageTypeOf(msg)?.name };
  }
}

export type EchoMsg = unknown;

class Echo implements Process<EchoMsg> {
  receive(msg: EchoMsg | SystemMessage, ctx: Context<EchoMsg>): void {
    if (msg instanceof Exit || msg instanceof Down) return;
    ctx.reply(msg);
  }
}

export const behaviours = defineBehaviours({
  counter: (args: { start?: number } | undefined) => new Counter(args),
  watcher: () => new Watcher(),
  ticker: () => new Ticker(),
  files: () => new Files(),
  'point-sink': () => new PointSink(),
  echo: () => new Echo(),
});
