/**
 * Supervisor: an ordinary process (kind `horde.supervisor`) that starts children, watches them
 * through links with exits trapped, and restarts them by strategy, as OTP's supervisor does.
 *
 * - one_for_one: only the child that ended is restarted.
 * - one_for_all: every other child is stopped (in reverse start order), then all start again in
 *   order.
 * - rest_for_one: the children started after the one that ended are stopped (in reverse), then it
 *   and they start again in order.
 * - restart: 'permanent' children always restart, 'transient' ones only after an abnormal exit
 *   (not 'normal' or 'shutdown'), 'temporary' ones never.
 * - intensity: more than `intensity` restarts within `periodMs` and the supervisor stops every
 *   child (reverse order) and exits with reason 'max_restart_intensity', so its own supervisor
 *   can act.
 *
 * Stopping is asynchronous: stop signals go out in reverse order and each child runs `terminate`
 * when its signal arrives; exits from children the supervisor no longer counts are ignored.
 */

import { ErrorCode, HordeError } from '../errors.js';
import { RestartIntensity } from '../internal/restart-intensity.js';
import { samePid, type Pid } from './pid.js';
import { Exit, type Context, type ExitReason, type Process, type SystemMessage } from './types.js';

/** The built-in kind to spawn for a supervisor; its spawn argument is a `SupervisorSpec`. */
export const SUPERVISOR_KIND = 'horde.supervisor';

/**
 * Which children restart when one ends: `'one_for_one'` only that one; `'one_for_all'` all of
 * them (the others stopped in reverse start order first); `'rest_for_one'` it and those started
 * after it.
 */
export type RestartStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';
/**
 * When a child is restarted: `'permanent'` always; `'transient'` only after an abnormal exit (not
 * 'normal' or 'shutdown'); `'temporary'` never.
 */
export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

/** One child of a supervisor: what to spawn and when to restart it. Children start in list order. */
export interface ChildSpec {
  /** Names the child in `which_children` answers; unique within the supervisor. */
  id: string;
  /** The process kind to spawn (from a behaviour module, or a built-in one). */
  kind: string;
  /** The spawn argument handed to the kind's factory, at every (re)start. */
  args?: unknown;
  /** Default `'permanent'`. */
  restart?: RestartPolicy;
  /** The shard to run on (default: the supervisor's). */
  shard?: number;
}

/** A supervisor's spawn argument; an invalid one fails the spawn with HORDE_INVALID_OPTION. */
export interface SupervisorSpec {
  /** How a child's end affects its siblings. */
  strategy: RestartStrategy;
  /** Most restarts allowed within `periodMs`; one more stops every child and the supervisor exits with 'max_restart_intensity'. Default 3. */
  intensity?: number;
  /** The sliding window `intensity` counts restarts in, in ms. Default 5000. */
  periodMs?: number;
  /** Started in order when the supervisor starts, stopped in reverse. */
  children: ChildSpec[];
}

/** Ask a supervisor `{ type: 'which_children' }`; it replies with `ChildInfo[]` in start order. */
export interface WhichChildren {
  /** The request's tag; a supervisor ignores other messages. */
  type: 'which_children';
}

/** One child in a supervisor's answer to `which_children`. */
export interface ChildInfo {
  /** The child's `ChildSpec.id`. */
  id: string;
  /** The running child, or undefined while it is not running (ended and not restarted). */
  pid: Pid | undefined;
  /** Times this child has been restarted. */
  restarts: number;
}

interface Child {
  spec: ChildSpec;
  pid: Pid | undefined;
  restarts: number;
}

const STRATEGIES: readonly RestartStrategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const POLICIES: readonly RestartPolicy[] = ['permanent', 'transient', 'temporary'];

export function validateSupervisorSpec(spec: unknown): SupervisorSpec {
  const fail = (what: string): never => {
    throw new HordeError(ErrorCode.INVALID_OPTION, `supervisor spec: ${what}`);
  };
  if (typeof spec !== 'object' || spec === null) return fail('must be an object');
  const s = spec as Partial<SupervisorSpec>;
  if (!STRATEGIES.includes(s.strategy!)) fail(`"strategy" must be one of ${STRATEGIES.join(', ')}`);
  if (s.intensity !== undefined && !(Number.isInteger(s.intensity) && s.intensity >= 0)) fail('"intensity" must be an integer >= 0');
  if (s.periodMs !== undefined && !(Number.isFinite(s.periodMs) && s.periodMs > 0)) fail('"periodMs" must be a positive number');
  if (!Array.isArray(s.children)) return fail('"children" must be an array');
  const ids = new Set<string>();
  for (const child of s.children) {
    if (typeof child?.id !== 'string' || ids.has(child.id)) fail('every child needs a unique string "id"');
    if (typeof child.kind !== 'string') fail(`child "${child.id}" needs a string "kind"`);
    if (child.restart !== undefined && !POLICIES.includes(child.restart)) fail(`child "${child.id}": "restart" must be one of ${POLICIES.join(', ')}`);
    ids.add(child.id);
  }
  return s as SupervisorSpec;
}

/**
 * The process behind kind `horde.supervisor`. Spawn that kind with a `SupervisorSpec`, or return
 * `new Supervisor(spec)` from a kind of your own to give a supervisor a fixed spec.
 */
export class Supervisor implements Process<WhichChildren> {
  private readonly strategy: RestartStrategy;
  private readonly restarts: RestartIntensity;
  private readonly children: Child[];
  /** Children this supervisor stopped or replaced (bounded): their exits are expected. */
  private readonly former: Pid[] = [];

  /** Validates `spec`; throws HORDE_INVALID_OPTION naming what is wrong. */
  constructor(spec: SupervisorSpec) {
    const valid = validateSupervisorSpec(spec);
    this.strategy = valid.strategy;
    this.restarts = new RestartIntensity(valid.intensity ?? 3, valid.periodMs ?? 5000);
    this.children = valid.children.map((childSpec) => ({ spec: childSpec, pid: undefined, restarts: 0 }));
  }

  /** Traps exits and starts the children in order, each linked to the supervisor. */
  init(ctx: Context<WhichChildren>): void {
    ctx.trapExits(true);
    for (const child of this.children) this.start(child, ctx);
  }

  /** Restarts children as their exits arrive; answers `which_children` with `ChildInfo[]` in start order. */
  receive(msg: WhichChildren | SystemMessage, ctx: Context<WhichChildren>): void {
    if (msg instanceof Exit) {
      this.childExited(msg, ctx);
      return;
    }
    if ((msg as Partial<WhichChildren>).type === 'which_children') {
      ctx.reply(this.children.map((child): ChildInfo => ({ id: child.spec.id, pid: child.pid, restarts: child.restarts })));
    }
  }

  /** Stops every running child with 'shutdown', last started first. */
  terminate(_reason: ExitReason, ctx: Context<WhichChildren>): void {
    this.stopRange(0, ctx);
  }

  private childExited(exit: Exit, ctx: Context<WhichChildren>): void {
    const index = this.children.findIndex((child) => child.pid !== undefined && samePid(child.pid, exit.from));
    if (index < 0) {
      // Not a current child: an exit from the parent (or a stop request) ends the supervisor.
      if (exit.reason !== 'normal' && !this.wasChild(exit.from)) ctx.exit(exit.reason);
      return;
    }
    const child = this.children[index]!;
    child.pid = undefined;
    const policy = child.spec.restart ?? 'permanent';
    const abnormal = exit.reason !== 'normal' && exit.reason !== 'shutdown';
    if (policy === 'temporary' || (policy === 'transient' && !abnormal)) return;

    if (!this.restarts.allow(ctx.now)) {
      ctx.exit('max_restart_intensity');
      return;
    }
    child.restarts++;
    switch (this.strategy) {
      case 'one_for_one':
        this.start(child, ctx);
        break;
      case 'one_for_all':
        this.stopRange(0, ctx);
        for (const each of this.children) this.start(each, ctx);
        break;
      case 'rest_for_one':
        this.stopRange(index + 1, ctx);
        for (const each of this.children.slice(index)) this.start(each, ctx);
        break;
    }
  }

  /** Exits from children that were stopped or replaced are expected; remember a bounded few. */
  private wasChild(pid: Pid): boolean {
    return this.former.some((old) => samePid(old, pid));
  }

  private start(child: Child, ctx: Context<WhichChildren>): void {
    const options = child.spec.shard === undefined ? { link: true } : { link: true, shard: child.spec.shard };
    child.pid = ctx.spawn(child.spec.kind, child.spec.args, options);
  }

  /** Stops children from `from` to the end, last started first. */
  private stopRange(from: number, ctx: Context<WhichChildren>): void {
    for (let i = this.children.length - 1; i >= from; i--) {
      const child = this.children[i]!;
      if (child.pid === undefined) continue;
      ctx.stop(child.pid, 'shutdown');
      this.former.push(child.pid);
      if (this.former.length > 1024) this.former.shift();
      child.pid = undefined;
    }
  }
}

export function supervisorFactory(spec: SupervisorSpec): Process<WhichChildren> {
  return new Supervisor(spec);
}
