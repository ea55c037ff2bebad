/**
 * A child process with a bounded lifetime, for the benchmarks' peers (BEAM nodes, epmd, naive Node
 * processes): killed with SIGKILL when its time limit passes or when `stop` is called, whatever
 * state it is in. stdout is read line by line by the caller; stderr is passed on to our stderr
 * line by line with a prefix.
 *
 * `exited` never rejects: a child that could not start resolves with `error` set. Callers stop
 * every child they started in a `finally` (stop is idempotent and resolves once the child is gone).
 *
 * The time limit is ours: if this process is killed (SIGKILL) the children outlive it. Peers that
 * would then run forever (epmd has no idle exit) get a watchdog (`guardOrphan`): a shell loop that
 * kills the child when this process is gone, and ends by itself within a second of the child.
 */

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The child could not be started (or another error of the process object). */
  error?: Error;
  /** Killed because its time limit passed. */
  timedOut: boolean;
}

export interface ChildOptions {
  /** Prefix of its stderr lines on our stderr, e.g. `[cluster] beam a`. */
  name: string;
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export class BoundedChild {
  readonly exited: Promise<ChildExit>;
  /** stdout, one line at a time (ends when the child closes stdout). */
  readonly lines: AsyncIterableIterator<string>;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private readonly timer: NodeJS.Timeout;
  private readonly name: string;
  private timedOut = false;
  private done = false;

  constructor(file: string, args: readonly string[], options: ChildOptions) {
    this.name = options.name;
    this.child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.child.kill('SIGKILL');
    }, options.timeoutMs);
    this.exited = new Promise<ChildExit>((resolve) => {
      this.child.on('error', (error) => {
        // 'close' may never come for a child that did not start.
        if (this.child.pid === undefined) this.settle(resolve, { code: null, signal: null, error, timedOut: false });
        else process.stderr.write(`${options.name}: ${error.message}\n`);
      });
      this.child.on('close', (code, signal) => this.settle(resolve, { code, signal, timedOut: this.timedOut }));
    });
    this.lines = createInterface({ input: this.child.stdout, crlfDelay: Infinity })[Symbol.asyncIterator]();
    const stderr = createInterface({ input: this.child.stderr, crlfDelay: Infinity });
    stderr.on('line', (line) => process.stderr.write(`${options.name}: ${line}\n`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The next stdout line, or undefined once stdout has closed. */
  async nextLine(): Promise<string | undefined> {
    const next = await this.lines.next();
    return next.done === true ? undefined : next.value;
  }

  /** The next stdout line; throws if none comes within `ms` (or stdout closes first). */
  async lineWithin(ms: number, what: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    try {
      const line = await Promise.race([this.nextLine(), late]);
      if (line === 'late') throw new Error(`${this.name}: no ${what} within ${ms} ms`);
      if (line === undefined) throw new Error(`${this.name}: stdout closed before ${what} (${describeExit(await this.exited)})`);
      return line;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child (SIGKILL) unless it has already exited, and waits for it to be gone. */
  async stop(): Promise<ChildExit> {
    if (!this.done && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Waits up to `ms` for the child to exit by itself, then kills it. */
  async stopAfter(ms: number): Promise<ChildExit> {
    let grace: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      grace = setTimeout(() => resolve('late'), ms);
    });
    const first = await Promise.race([this.exited, late]);
    clearTimeout(grace);
    return first === 'late' ? this.stop() : first;
  }

  private settle(resolve: (exit: ChildExit) => void, exit: ChildExit): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    resolve(exit);
  }
}

/**
 * A watchdog for `child`: `/bin/sh` polling once a second, it kills the child with SIGKILL when this
 * process has gone or `limitMs` has passed, and exits within a second once the child has exited.
 * Returned as a BoundedChild itself, to be stopped with the others.
 */
export function guardOrphan(child: BoundedChild, limitMs: number, name: string): BoundedChild {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: no process to guard`);
  const seconds = Math.ceil(limitMs / 1e3);
  const script = 'i=0; while [ "$i" -lt "$3" ] && kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; i=$((i+1)); done; kill -9 "$2" 2>/dev/null; exit 0';
  return new BoundedChild('/bin/sh', ['-c', script, 'guard', String(process.pid), String(pid), String(seconds)], {
    name,
    timeoutMs: limitMs + 10_000,
  });
}

/** `code 1`, `signal SIGKILL (time limit)`, or the start error, for messages. */
export function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return `could not start: ${exit.error.message}`;
  if (exit.timedOut) return 'killed at its time limit';
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}
