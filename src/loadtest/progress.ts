// The progress display on stderr: one redrawn bar on a TTY, plain lines (at most one a second)
// otherwise, so logs of CI runs stay readable.
import { performance } from 'node:perf_hooks';
import type { LiveStats } from './driver.js';

/** Where progress goes: a writable stream (`isTTY` decides bar or lines). */
export interface ProgressStream {
  /** Writes a chunk of text; the return value (back pressure) is ignored. */
  write(chunk: string): boolean;
  /** True: one bar redrawn in place (every 250 ms); otherwise plain lines, at most one a second. */
  isTTY?: boolean;
  /** The terminal's width in characters; the bar line is cut to fit. Default 120. */
  columns?: number;
}

const BAR_WIDTH = 24;
const PLAIN_EVERY_MS = 1000;

export class Progress {
  private readonly tty: boolean;
  private lastPlain = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly totalMs: number,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** Shows how far the whole run is (`doneMs` of `totalMs`) and what is happening now. */
  update(doneMs: number, text: string): void {
    const share = this.totalMs > 0 ? Math.min(1, Math.max(0, doneMs / this.totalMs)) : 1;
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    if (this.tty) {
      const filled = Math.round(share * BAR_WIDTH);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent} ${text}`;
      const width = this.stream.columns ?? 120;
      this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
      this.drawn = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = now;
    this.stream.write(`loadtest ${percent.trim()} ${text}\n`);
  }

  /** A line of its own (phase changes), printed in both modes. */
  note(text: string): void {
    this.clear();
    this.stream.write(`loadtest: ${text}\n`);
  }

  /** Removes the bar (TTY) so what follows starts on a clean line. */
  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}

/** One line about a running phase: step, offered rate, and the last full second's outcomes. */
export function describeLive(phase: string, multiple: number, rate: number, stats: LiveStats): string {
  const head = `${phase} ${multiple.toFixed(2)}x (${Math.round(rate)}/s) out ${stats.outstanding}`;
  const last = stats.lastSecond;
  if (last === null) return head;
  const p99 = last.p99Ms === null ? '-' : `${last.p99Ms.toFixed(1)}ms`;
  return `${head} | last s: offered ${last.offered} done ${last.completed} shed ${last.shed} failed ${last.failed} p99 ${p99}`;
}
