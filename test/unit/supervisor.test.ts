import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { pidKey, type Pid } from '../../src/process/pid.js';
import type { ExitReason } from '../../src/process/types.js';
import { SUPERVISOR_KIND, validateSupervisorSpec, type ChildInfo, type ChildSpec, type SupervisorSpec, type WhichChildren } from '../../src/process/supervisor.js';
import { Signal } from '../../src/codec/envelope.js';
import { TestKit, type Probe } from '../../src/testkit/testkit.js';
import { unitBehaviours, type ActorArgs, type ActorEvent, type ActorMsg } from '../fixtures/unit-behaviours.js';

interface World {
  kit: TestKit;
  probe: Probe;
}

function world(shards = 2, seed = 1): World {
  const kit = new TestKit({ behaviours: unitBehaviours, shards, seed });
  return { kit, probe: kit.probe() };
}

/** A child that announces its init and terminate to the probe, under its id. */
function child(w: World, id: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  const args: ActorArgs = { report: w.probe.pid, name: id, announce: true, reportTerminate: true };
  return { id, kind: 'actor', args, ...extra };
}

function startSupervisor(w: World, spec: SupervisorSpec, shard = 0): Pid<WhichChildren> {
  const sup = w.kit.spawn<WhichChildren>(SUPERVISOR_KIND, spec, { shard });
  w.kit.run();
  return sup;
}

function which(w: World, sup: Pid<WhichChildren>): ChildInfo[] {
  return w.kit.ask<ChildInfo[]>(sup, { type: 'which_children' });
}

function pidOf(w: World, sup: Pid<WhichChildren>, id: string): Pid<ActorMsg> {
  const info = which(w, sup).find((c) => c.id === id);
  if (info?.pid === undefined) throw new Error(`child ${id} has no pid`);
  return info.pid as Pid<ActorMsg>;
}

function crash(w: World, sup: Pid<WhichChildren>, id: string): Pid {
  const p = pidOf(w, sup, id);
  w.kit.send(p, { type: 'crash', why: `${id} crashed` });
  w.kit.run();
  return p;
}

const alive = (w: World, p: Pid): boolean => w.kit.shards[p.shard]!.has(p);

/** Names of the probe events of one kind, in arrival order; clears the probe. */
function take(w: World, event: ActorEvent['event']): string[] {
  const names = w.probe.messages.map((m) => m.payload as ActorEvent).filter((e) => e.event === event).map((e) => e.name);
  return names;
}

function terminations(w: World): { name: string; reason: ExitReason }[] {
  return w.probe.messages
    .map((m) => m.payload as ActorEvent)
    .flatMap((e) => (e.event === 'terminate' ? [{ name: e.name, reason: e.reason }] : []));
}

/** The reason `target` ended with, as a probe monitor sees it. */
function watch(w: World, target: Pid): () => ExitReason | undefined {
  const probe = w.kit.probe();
  const ref = w.kit.monitor(probe, target);
  return () => probe.messages.find((m) => m.signal === Signal.DOWN && m.ref === ref)?.payload as ExitReason | undefined;
}

/**
 * Stop signals the supervisor sent, as child ids, in order (first signal per child: a supervisor
 * that ends with 'shutdown' also sends its links the usual exit signal afterwards).
 */
function stopsSent(w: World, sup: Pid, idsByPid: Map<string, string>, since = 0): string[] {
  const ids = w.kit.envelopes
    .slice(since)
    .filter((e) => e.signal === Signal.EXIT && e.from !== undefined && pidKey(e.from) === pidKey(sup) && e.payload === 'shutdown')
    .map((e) => idsByPid.get(pidKey(e.to)) ?? pidKey(e.to));
  return [...new Set(ids)];
}

function idsOf(infos: ChildInfo[]): Map<string, string> {
  return new Map(infos.flatMap((c) => (c.pid === undefined ? [] : [[pidKey(c.pid), c.id] as [string, string]])));
}

describe('supervisor start', () => {
  it('starts its children in order, links them, and lists them with which_children', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'a'), child(w, 'b'), child(w, 'c')] });
    expect(take(w, 'init')).toEqual(['a', 'b', 'c']);
    const spawns = w.kit.envelopes.filter((e) => e.signal === Signal.SPAWN && e.from !== undefined && pidKey(e.from) === pidKey(sup));
    expect(spawns.map((e) => ((e.payload as { args: ActorArgs }).args.name))).toEqual(['a', 'b', 'c']);
    expect(spawns.every((e) => (e.payload as { link?: Pid }).link !== undefined)).toBe(true);
    const infos = which(w, sup);
    expect(infos.map((c) => [c.id, c.restarts])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 0],
    ]);
    expect(infos.map((c) => pidKey(c.pid!))).toEqual(spawns.map((e) => pidKey(e.to)));
    for (const info of infos) expect(alive(w, info.pid!)).toBe(true);
  });

  it('starts children on the shards their specs name, in order', () => {
    const w = world(3);
    const sup = startSupervisor(w, {
      strategy: 'one_for_one',
      children: [child(w, 'a', { shard: 1 }), child(w, 'b', { shard: 2 }), child(w, 'c'), child(w, 'd', { shard: 1 })],
    });
    const spawns = w.kit.envelopes.filter((e) => e.signal === Signal.SPAWN);
    expect(spawns.map((e) => [(e.payload as { args: ActorArgs }).args.name, e.to.shard])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 0],
      ['d', 1],
    ]);
    expect(which(w, sup).map((c) => c.pid!.shard)).toEqual([1, 2, 0, 1]);
    expect(take(w, 'init').sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe.each([
  { where: 'on its shard', childShard: undefined },
  { where: 'on another shard', childShard: 1 },
])('supervisor strategies with children $where', ({ childShard }) => {
  const spec = (w: World, strategy: SupervisorSpec['strategy'], ids: string[]): SupervisorSpec => ({
    strategy,
    intensity: 10,
    children: ids.map((id) => child(w, id, childShard === undefined ? {} : { shard: childShard })),
  });

  it('one_for_one restarts only the crashed child', () => {
    const w = world();
    const sup = startSupervisor(w, spec(w, 'one_for_one', ['a', 'b', 'c']));
    const before = which(w, sup);
    const old = crash(w, sup, 'b');
    const after = which(w, sup);
    expect(after[0]!.pid).toEqual(before[0]!.pid);
    expect(after[2]!.pid).toEqual(before[2]!.pid);
    expect(after[1]!.pid).not.toEqual(before[1]!.pid);
    expect(after.map((c) => c.restarts)).toEqual([0, 1, 0]);
    expect(alive(w, old)).toBe(false);
    for (const info of after) expect(alive(w, info.pid!)).toBe(true);
    expect(take(w, 'init')).toEqual(['a', 'b', 'c', 'b']);
    expect(terminations(w)).toEqual([{ name: 'b', reason: expect.objectContaining({ message: 'b crashed' }) as unknown }]);
  });

  it('one_for_all stops the others last-started first, then restarts all in order', () => {
    const w = world();
    const sup = startSupervisor(w, spec(w, 'one_for_all', ['a', 'b', 'c', 'd']));
    const before = which(w, sup);
    const ids = idsOf(before);
    const mark = w.kit.envelopes.length;
    w.probe.messages.length = 0;
    crash(w, sup, 'b');
    const after = which(w, sup);
    for (let i = 0; i < 4; i++) {
      expect(pidKey(after[i]!.pid!)).not.toBe(pidKey(before[i]!.pid!));
      expect(alive(w, before[i]!.pid!)).toBe(false);
      expect(alive(w, after[i]!.pid!)).toBe(true);
    }
    expect(after.map((c) => c.restarts)).toEqual([0, 1, 0, 0]);
    expect(stopsSent(w, sup, ids, mark)).toEqual(['d', 'c', 'a']);
    expect(terminations(w).map((t) => [t.name, typeof t.reason === 'string' ? t.reason : 'error'])).toEqual([
      ['b', 'error'],
      ['d', 'shutdown'],
      ['c', 'shutdown'],
      ['a', 'shutdown'],
    ]);
    expect(take(w, 'init')).toEqual(['a', 'b', 'c', 'd']);
    // The stopped children's exits were expected: nothing else restarted, the supervisor lives.
    expect(alive(w, sup)).toBe(true);
    crash(w, sup, 'd');
    expect(which(w, sup).map((c) => c.restarts)).toEqual([0, 1, 0, 1]);
  });

  it('rest_for_one restarts the crashed child and those after it, not those before', () => {
    const w = world();
    const sup = startSupervisor(w, spec(w, 'rest_for_one', ['a', 'b', 'c', 'd']));
    const before = which(w, sup);
    const ids = idsOf(before);
    const mark = w.kit.envelopes.length;
    w.probe.messages.length = 0;
    crash(w, sup, 'b');
    const after = which(w, sup);
    expect(after[0]!.pid).toEqual(before[0]!.pid);
    for (let i = 1; i < 4; i++) {
      expect(pidKey(after[i]!.pid!)).not.toBe(pidKey(before[i]!.pid!));
      expect(alive(w, before[i]!.pid!)).toBe(false);
    }
    expect(stopsSent(w, sup, ids, mark)).toEqual(['d', 'c']);
    expect(terminations(w).map((t) => t.name)).toEqual(['b', 'd', 'c']);
    expect(take(w, 'init')).toEqual(['b', 'c', 'd']);
    expect(after.map((c) => c.restarts)).toEqual([0, 1, 0, 0]);
    // The last child crashing restarts only itself.
    w.probe.messages.length = 0;
    crash(w, sup, 'd');
    expect(take(w, 'init')).toEqual(['d']);
  });
});

describe('restart policies', () => {
  it('transient: not restarted after a normal exit or shutdown, restarted after a crash', () => {
    const w = world();
    const sup = startSupervisor(w, {
      strategy: 'one_for_one',
      children: [child(w, 'normal', { restart: 'transient' }), child(w, 'crash', { restart: 'transient' }), child(w, 'shut', { restart: 'transient' })],
    });
    w.kit.send(pidOf(w, sup, 'normal'), { type: 'exit' });
    w.kit.send(pidOf(w, sup, 'shut'), { type: 'exit', reason: 'shutdown' });
    crash(w, sup, 'crash');
    const infos = which(w, sup);
    expect(infos.map((c) => [c.id, c.pid === undefined, c.restarts])).toEqual([
      ['normal', true, 0],
      ['crash', false, 1],
      ['shut', true, 0],
    ]);
  });

  it('temporary: never restarted', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'temp', { restart: 'temporary' }), child(w, 'perm')] });
    const old = crash(w, sup, 'temp');
    expect(alive(w, old)).toBe(false);
    expect(which(w, sup).map((c) => [c.id, c.pid === undefined, c.restarts])).toEqual([
      ['temp', true, 0],
      ['perm', false, 0],
    ]);
    expect(take(w, 'init')).toEqual(['temp', 'perm']);
  });

  it('permanent: restarted even after a normal exit', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'perm', { restart: 'permanent' })] });
    const old = pidOf(w, sup, 'perm');
    w.kit.send(old, { type: 'exit' });
    w.kit.run();
    const [info] = which(w, sup);
    expect(info!.restarts).toBe(1);
    expect(pidKey(info!.pid!)).not.toBe(pidKey(old));
  });

  it('a temporary child that ended is not restarted when a sibling triggers one_for_all', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_all', children: [child(w, 'temp', { restart: 'temporary' }), child(w, 'perm')] });
    crash(w, sup, 'temp');
    w.probe.messages.length = 0;
    crash(w, sup, 'perm');
    // One_for_all starts every child again, so the temporary one comes back with its siblings
    // (OTP drops ended temporary children from the list; horde keeps them and restarts them).
    const infos = which(w, sup);
    expect(infos[1]!.restarts).toBe(1);
    expect(alive(w, infos[1]!.pid!)).toBe(true);
  });
});

describe('restart intensity', () => {
  it('more than `intensity` restarts within periodMs end the supervisor with max_restart_intensity and stop its children', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, children: [child(w, 'a'), child(w, 'b'), child(w, 'c')] });
    const reason = watch(w, sup);
    const ids = idsOf(which(w, sup));
    const a = pidOf(w, sup, 'a');
    const c = pidOf(w, sup, 'c');
    crash(w, sup, 'b');
    w.kit.advance(400);
    crash(w, sup, 'b');
    expect(alive(w, sup)).toBe(true);
    expect(reason()).toBeUndefined();
    w.kit.advance(400);
    const mark = w.kit.envelopes.length;
    w.probe.messages.length = 0;
    const lastB = crash(w, sup, 'b');
    expect(reason()).toBe('max_restart_intensity');
    expect(alive(w, sup)).toBe(false);
    for (const p of [a, c, lastB]) expect(alive(w, p)).toBe(false);
    // The remaining children were stopped last-started first; b was not restarted.
    ids.set(pidKey(c), 'c');
    ids.set(pidKey(a), 'a');
    expect(stopsSent(w, sup, ids, mark)).toEqual(['c', 'a']);
    expect(terminations(w).map((t) => [t.name, typeof t.reason === 'string' ? t.reason : 'error'])).toEqual([
      ['b', 'error'],
      ['c', 'shutdown'],
      ['a', 'shutdown'],
    ]);
    expect(take(w, 'init')).toEqual([]);
    expect(w.kit.crashes.some((cr) => pidKey(cr.pid) === pidKey(sup) && cr.reason === 'max_restart_intensity')).toBe(true);
    expect(w.kit.shards.map((s) => s.stats().processes)).toEqual([0, 0]);
  });

  it('restarts spread out over more than periodMs do not trip it', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, children: [child(w, 'a')] });
    for (let i = 0; i < 8; i++) {
      crash(w, sup, 'a');
      w.kit.advance(600); // at most two restarts in any 1000 ms
    }
    expect(alive(w, sup)).toBe(true);
    expect(which(w, sup)[0]!.restarts).toBe(8);
  });

  it('counts restarts inside the window up to, not including, periodMs', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, children: [child(w, 'a')] });
    const reason = watch(w, sup);
    crash(w, sup, 'a');
    crash(w, sup, 'a');
    w.kit.advance(999);
    crash(w, sup, 'a');
    expect(reason()).toBe('max_restart_intensity');

    const w2 = world();
    const sup2 = startSupervisor(w2, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, children: [child(w2, 'a')] });
    crash(w2, sup2, 'a');
    crash(w2, sup2, 'a');
    w2.kit.advance(1_000);
    crash(w2, sup2, 'a');
    expect(alive(w2, sup2)).toBe(true);
  });

  it('intensity 0 gives up at the first restart; the default (3) at the fourth', () => {
    const w = world();
    const strict = startSupervisor(w, { strategy: 'one_for_one', intensity: 0, children: [child(w, 'a')] });
    const strictReason = watch(w, strict);
    crash(w, strict, 'a');
    expect(strictReason()).toBe('max_restart_intensity');

    const relaxed = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'b')] });
    const relaxedReason = watch(w, relaxed);
    for (let i = 0; i < 3; i++) crash(w, relaxed, 'b');
    expect(alive(w, relaxed)).toBe(true);
    crash(w, relaxed, 'b');
    expect(relaxedReason()).toBe('max_restart_intensity');
  });

  it('a child that cannot start makes the supervisor give up instead of looping', () => {
    const w = world();
    const sup = w.kit.spawn<WhichChildren>(SUPERVISOR_KIND, { strategy: 'one_for_one', intensity: 3, children: [{ id: 'x', kind: 'bad-init' }] } satisfies SupervisorSpec, {
      shard: 0,
    });
    const reason = watch(w, sup);
    w.kit.run();
    expect(reason()).toBe('max_restart_intensity');
    expect(w.kit.crashes.filter((c) => c.kind === 'bad-init')).toHaveLength(4);
  });
});

describe('supervisor shutdown', () => {
  it('kit.stop(sup) stops its children, last started first, with shutdown', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'a'), child(w, 'b', { shard: 1 }), child(w, 'c')] });
    const infos = which(w, sup);
    const reason = watch(w, sup);
    const mark = w.kit.envelopes.length;
    w.kit.stop(sup);
    w.kit.run();
    expect(reason()).toBe('shutdown');
    expect(stopsSent(w, sup, idsOf(infos), mark)).toEqual(['c', 'b', 'a']);
    for (const info of infos) expect(alive(w, info.pid!)).toBe(false);
    expect(terminations(w).map((t) => t.reason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    expect(w.kit.crashes).toHaveLength(0);
  });

  it("kit.stop(sup, 'kill') cannot be trapped, and the children still go", () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'a'), child(w, 'b')] });
    const infos = which(w, sup);
    const reason = watch(w, sup);
    w.kit.stop(sup, 'kill');
    w.kit.run();
    expect(reason()).toBe('killed');
    for (const info of infos) expect(alive(w, info.pid!)).toBe(false);
  });

  it('a linked parent crashing takes the supervisor and its children down', () => {
    const w = world();
    const parent = w.kit.spawn<ActorMsg>('actor', undefined, { shard: 1 });
    w.kit.send(parent, {
      type: 'spawn',
      kind: SUPERVISOR_KIND,
      args: { strategy: 'one_for_one', children: [child(w, 'a')] } satisfies SupervisorSpec,
      options: { link: true, shard: 0 },
    });
    w.kit.run();
    expect(take(w, 'init')).toEqual(['a']);
    w.kit.send(parent, { type: 'crash', why: 'parent gone' });
    w.kit.run();
    expect(terminations(w)).toEqual([{ name: 'a', reason: 'shutdown' }]);
    expect(w.kit.shards.map((s) => s.stats().processes)).toEqual([0, 0]);
  });

  it('a normal exit signal from outside does not stop the supervisor', () => {
    const w = world();
    const sup = startSupervisor(w, { strategy: 'one_for_one', children: [child(w, 'a')] });
    w.kit.stop(sup, 'normal');
    w.kit.run();
    expect(alive(w, sup)).toBe(true);
    expect(which(w, sup)[0]!.restarts).toBe(0);
  });
});

describe('nested supervisors', () => {
  function nested(w: World, outerIntensity: number): Pid<WhichChildren> {
    const inner: SupervisorSpec = { strategy: 'one_for_one', intensity: 1, periodMs: 1_000, children: [child(w, 'worker')] };
    return startSupervisor(w, {
      strategy: 'one_for_one',
      intensity: outerIntensity,
      periodMs: 1_000,
      children: [{ id: 'inner', kind: SUPERVISOR_KIND, args: inner }, child(w, 'sibling')],
    });
  }

  it('an inner supervisor that reaches its intensity is restarted by the outer one, with fresh children', () => {
    const w = world();
    const outer = nested(w, 3);
    const inner = pidOf(w, outer, 'inner') as Pid as Pid<WhichChildren>;
    const sibling = pidOf(w, outer, 'sibling');
    const firstWorker = pidOf(w, inner, 'worker');
    crash(w, inner, 'worker');
    expect(alive(w, inner)).toBe(true);
    crash(w, inner, 'worker'); // second restart within 1 s: over intensity 1
    expect(alive(w, inner)).toBe(false);
    const infos = which(w, outer);
    expect(infos.map((c) => [c.id, c.restarts])).toEqual([
      ['inner', 1],
      ['sibling', 0],
    ]);
    expect(pidKey(infos[1]!.pid!)).toBe(pidKey(sibling));
    const newInner = infos[0]!.pid as Pid<WhichChildren>;
    expect(pidKey(newInner)).not.toBe(pidKey(inner));
    const worker = which(w, newInner);
    expect(worker[0]!.restarts).toBe(0);
    expect(alive(w, worker[0]!.pid!)).toBe(true);
    expect(pidKey(worker[0]!.pid!)).not.toBe(pidKey(firstWorker));
    // The worker started three times: at first, after one crash (inner restart), with the new inner.
    const inits = take(w, 'init');
    expect(inits.filter((name) => name === 'worker')).toHaveLength(3);
    expect(inits.filter((name) => name === 'sibling')).toHaveLength(1);
  });

  it('escalates: the outer supervisor gives up when its inner one keeps giving up', () => {
    const w = world();
    const outer = nested(w, 1);
    const reason = watch(w, outer);
    for (let round = 0; round < 2; round++) {
      const inner = pidOf(w, outer, 'inner') as Pid as Pid<WhichChildren>;
      crash(w, inner, 'worker');
      crash(w, inner, 'worker');
    }
    expect(reason()).toBe('max_restart_intensity');
    expect(w.kit.shards.map((s) => s.stats().processes)).toEqual([0, 0]);
    expect(terminations(w).at(-1)).toEqual({ name: 'sibling', reason: 'shutdown' });
  });

  it('stopping the outer supervisor stops the inner one and its children', () => {
    const w = world();
    const outer = nested(w, 3);
    const inner = pidOf(w, outer, 'inner') as Pid as Pid<WhichChildren>;
    const innerReason = watch(w, inner);
    w.kit.stop(outer);
    w.kit.run();
    expect(innerReason()).toBe('shutdown');
    expect(w.kit.shards.map((s) => s.stats().processes)).toEqual([0, 0]);
    expect(terminations(w).map((t) => [t.name, t.reason])).toEqual([
      ['sibling', 'shutdown'],
      ['worker', 'shutdown'],
    ]);
  });
});

describe('supervisor specs', () => {
  const good = (): SupervisorSpec => ({ strategy: 'one_for_one', children: [{ id: 'a', kind: 'actor' }] });
  const cases: [string, unknown, string][] = [
    ['not an object', 42, 'must be an object'],
    ['null', null, 'must be an object'],
    ['strategy', { ...good(), strategy: 'one_for_some' }, '"strategy"'],
    ['missing strategy', { children: [] }, '"strategy"'],
    ['intensity negative', { ...good(), intensity: -1 }, '"intensity"'],
    ['intensity fraction', { ...good(), intensity: 1.5 }, '"intensity"'],
    ['periodMs zero', { ...good(), periodMs: 0 }, '"periodMs"'],
    ['periodMs infinite', { ...good(), periodMs: Number.POSITIVE_INFINITY }, '"periodMs"'],
    ['children missing', { strategy: 'one_for_all' }, '"children"'],
    ['children not an array', { strategy: 'one_for_all', children: {} }, '"children"'],
    ['child id missing', { strategy: 'one_for_all', children: [{ kind: 'actor' }] }, '"id"'],
    ['child not an object', { strategy: 'one_for_all', children: [null] }, '"id"'],
    ['duplicate id', { strategy: 'one_for_all', children: [{ id: 'a', kind: 'actor' }, { id: 'a', kind: 'actor' }] }, '"id"'],
    ['child kind', { strategy: 'one_for_all', children: [{ id: 'a', kind: 7 }] }, '"kind"'],
    ['child restart', { strategy: 'one_for_all', children: [{ id: 'a', kind: 'actor', restart: 'sometimes' }] }, '"restart"'],
  ];

  it.each(cases)('refuses %s with HORDE_INVALID_OPTION naming the field', (_label, spec, field) => {
    expect(() => validateSupervisorSpec(spec)).toThrow(HordeError);
    try {
      validateSupervisorSpec(spec);
    } catch (error) {
      expect((error as HordeError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((error as HordeError).message).toContain(field);
    }
    // kit.spawn, like node.spawn, throws it to the caller and leaves nothing behind.
    const kit = new TestKit({ behaviours: unitBehaviours });
    expect(() => kit.spawn(SUPERVISOR_KIND, spec, { shard: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
    expect(kit.shards[0]!.stats().processes).toBe(0);
  });

  it('accepts a minimal spec and an empty child list', () => {
    expect(validateSupervisorSpec(good())).toEqual(good());
    const w = world();
    const sup = startSupervisor(w, { strategy: 'rest_for_one', children: [] });
    expect(which(w, sup)).toEqual([]);
  });

  it('a supervisor that spawns an invalid supervisor child tells it as an exit, not a crash of its own', () => {
    const w = world();
    const sup = w.kit.spawn<WhichChildren>(SUPERVISOR_KIND, {
      strategy: 'one_for_one',
      intensity: 1,
      children: [{ id: 'bad', kind: SUPERVISOR_KIND, args: { strategy: 'nope', children: [] } }],
    } satisfies SupervisorSpec);
    const reason = watch(w, sup);
    w.kit.run();
    expect(reason()).toBe('max_restart_intensity');
    expect(w.kit.crashes.filter((c) => c.kind === SUPERVISOR_KIND && typeof c.reason !== 'string').map((c) => (c.reason as { code: string }).code)).toEqual([
      ErrorCode.INVALID_OPTION,
      ErrorCode.INVALID_OPTION,
    ]);
  });
});
