import { describe, expect, it } from 'vitest';
import { ConnectionStages, Stage } from '../../src/gateway/connection-stages.js';

const limits = { firstFrameTimeoutMs: 100, frameTimeoutMs: 200, idleTimeoutMs: 1_000 };

function expired(stages: ConnectionStages<string>, now: number): [string, Stage][] {
  const out: [string, Stage][] = [];
  stages.expire(now, (item, stage) => out.push([item, stage]));
  return out;
}

describe('ConnectionStages', () => {
  it('expires each stage after its own limit, earliest first, and forgets what expired', () => {
    const stages = new ConnectionStages<string>(limits);
    stages.enter('a', Stage.FIRST_FRAME, 0);
    stages.enter('b', Stage.FIRST_FRAME, 10);
    stages.enter('c', Stage.FRAME, 0);
    stages.enter('d', Stage.IDLE, 0);
    expect(expired(stages, 99)).toEqual([]);
    expect(expired(stages, 100)).toEqual([['a', Stage.FIRST_FRAME]]);
    expect(expired(stages, 250)).toEqual([['b', Stage.FIRST_FRAME], ['c', Stage.FRAME]]);
    expect(stages.stageOf('c')).toBeUndefined();
    expect(expired(stages, 999)).toEqual([]);
    expect(expired(stages, 1_000)).toEqual([['d', Stage.IDLE]]);
    expect(expired(stages, 10_000)).toEqual([]);
  });

  it('restarts a deadline when an item enters a stage again, and stops it in no stage', () => {
    const stages = new ConnectionStages<string>(limits);
    stages.enter('a', Stage.FRAME, 0);
    stages.enter('b', Stage.FRAME, 50);
    stages.enter('a', Stage.FRAME, 100); // a new frame started: a goes behind b
    expect(expired(stages, 250)).toEqual([['b', Stage.FRAME]]);
    expect(expired(stages, 300)).toEqual([['a', Stage.FRAME]]);
    stages.enter('c', Stage.FIRST_FRAME, 0);
    stages.enter('c', undefined, 50); // paused: the gateway is not reading it
    expect(stages.stageOf('c')).toBeUndefined();
    expect(expired(stages, 1_000_000)).toEqual([]);
  });

  it('lets a connection idle without limit when idleTimeoutMs is 0, but keeps it in the eviction order', () => {
    const stages = new ConnectionStages<string>({ ...limits, idleTimeoutMs: 0 });
    stages.enter('a', Stage.IDLE, 0);
    expect(expired(stages, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(stages.evictable()).toBe('a');
  });

  it('evicts the oldest silent connection first, then the one idle the longest, never a busy one', () => {
    const stages = new ConnectionStages<string>(limits);
    stages.enter('busy', undefined, 0);
    expect(stages.evictable()).toBeUndefined();
    stages.enter('x', Stage.IDLE, 0);
    stages.enter('y', Stage.IDLE, 5);
    expect(stages.evictable()).toBe('x');
    stages.enter('x', undefined, 6); // x got a request
    stages.enter('x', Stage.IDLE, 7); // and answered it: now idle for less time than y
    expect(stages.evictable()).toBe('y');
    stages.addSilent('s1');
    stages.enter('s1', Stage.FIRST_FRAME, 10);
    stages.addSilent('s2');
    stages.enter('s2', Stage.FIRST_FRAME, 11);
    expect(stages.evictable()).toBe('s1');
    stages.heard('s1'); // sent a byte: no longer silent, and waiting for its frame is not idle
    expect(stages.isSilent('s1')).toBe(false);
    expect(stages.evictable()).toBe('s2');
    stages.remove('s2');
    expect(stages.evictable()).toBe('y');
    stages.remove('y');
    stages.remove('x');
    expect(stages.evictable()).toBeUndefined();
    expect(stages.count(Stage.FIRST_FRAME)).toBe(1);
  });

  it('keeps an expired silent connection first in the eviction order until it is removed', () => {
    const stages = new ConnectionStages<string>(limits);
    stages.addSilent('s');
    stages.enter('s', Stage.FIRST_FRAME, 0);
    expect(expired(stages, 100)).toEqual([['s', Stage.FIRST_FRAME]]);
    expect(stages.isSilent('s')).toBe(true);
    stages.remove('s');
    expect(stages.isSilent('s')).toBe(false);
  });
});
