// The admission window: additive increase below the low mark, multiplicative decrease above the high one, within bounds.
import { describe, expect, it } from 'vitest';
import { AdmissionWindow } from '../../src/gateway/admission-window.js';

describe('AdmissionWindow', () => {
  it('halves above the high mark, widens by one below the low mark, holds between them', () => {
    const window = new AdmissionWindow(2, 100, 64);
    window.sample(20, 5, 10);
    expect(window.limit).toBe(32);
    window.sample(7, 5, 10);
    expect(window.limit).toBe(32);
    window.sample(1, 5, 10);
    expect(window.limit).toBe(33);
  });

  it('stays within its bounds and refuses bad ones', () => {
    const window = new AdmissionWindow(2, 10, 50);
    expect(window.limit).toBe(10);
    for (let i = 0; i < 20; i++) window.sample(1000, 5, 10);
    expect(window.limit).toBe(2);
    for (let i = 0; i < 50; i++) window.sample(0, 5, 10);
    expect(window.limit).toBe(10);
    expect(() => new AdmissionWindow(0, 10, 5)).toThrow(expect.objectContaining({ code: 'HORDE_INVALID_OPTION' }) as Error);
    expect(() => new AdmissionWindow(5, 4, 5)).toThrow(expect.objectContaining({ code: 'HORDE_INVALID_OPTION' }) as Error);
  });
});

describe('AdmissionWindow pacing', () => {
  it('halves at most once per decreaseEveryMs', () => {
    const window = new AdmissionWindow(1, 1000, 64, 40);
    window.sample(50, 5, 10, 1000);
    window.sample(50, 5, 10, 1010);
    window.sample(50, 5, 10, 1030);
    expect(window.limit).toBe(32);
    window.sample(50, 5, 10, 1040);
    expect(window.limit).toBe(16);
  });
});
