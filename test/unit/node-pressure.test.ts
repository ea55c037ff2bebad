// NodePressure on one thread: bits per node, the epoch that tells executors to look, and two views
// of one buffer (the main thread's and an executor's) agreeing.
import { describe, expect, it } from 'vitest';
import { NodePressure } from '../../src/internal/node-pressure.js';

describe('NodePressure', () => {
  it('sets and clears each node on its own, bumping the epoch only on a change', () => {
    const main = new NodePressure();
    const executor = new NodePressure(main.buffer);
    expect(executor.isCongested(7)).toBe(false);
    expect(main.set(7, true)).toBe(true);
    expect(main.set(65_535, true)).toBe(true);
    expect(main.set(7, true), 'no change').toBe(false);
    expect(executor.epoch).toBe(2);
    expect([0, 6, 7, 8, 31, 32, 65_534, 65_535].map((node) => executor.isCongested(node))).toEqual([false, false, true, false, false, false, false, true]);
    expect(main.set(7, false)).toBe(true);
    expect(executor.isCongested(7)).toBe(false);
    expect(executor.isCongested(65_535)).toBe(true);
    expect(executor.epoch).toBe(3);
  });
});
