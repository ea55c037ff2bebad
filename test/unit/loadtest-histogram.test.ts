// Latency histograms and the capacity window: percentiles, clamping, merging, encoding, peak rate.
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { peakRate } from '../../src/loadtest/capacity.js';
import { LatencyHistogram, MAX_LATENCY_US } from '../../src/loadtest/histogram.js';

describe('LatencyHistogram', () => {
  it('reports percentiles of a known distribution within its resolution', () => {
    const h = new LatencyHistogram(3);
    for (let i = 1; i <= 10_000; i++) h.recordMs(i / 10); // 0.1 .. 1000 ms
    const s = h.summary()!;
    expect(s.count).toBe(10_000);
    expect(s.p50Ms).toBeGreaterThan(500 * 0.999);
    expect(s.p50Ms).toBeLessThan(500 * 1.001);
    expect(s.p99Ms).toBeGreaterThan(990 * 0.999);
    expect(s.p99Ms).toBeLessThan(990 * 1.001);
    expect(s.p999Ms).toBeGreaterThan(999 * 0.999);
    expect(s.maxMs).toBeCloseTo(1000, 0);
    expect(s.p999Ms).toBeLessThanOrEqual(s.maxMs);
  });

  it('is empty until something is recorded', () => {
    expect(new LatencyHistogram().summary()).toBeNull();
  });

  it('clamps values beyond 60 s and counts them; negative values count as zero', () => {
    const h = new LatencyHistogram(2);
    h.recordMs(120_000);
    h.recordMs(-5);
    expect(h.clamped).toBe(1);
    expect(h.summary()!.maxMs).toBe(MAX_LATENCY_US / 1000);
    expect(h.percentileMs(99)).toBeLessThanOrEqual(MAX_LATENCY_US / 1000);
    expect(h.percentileMs(1)).toBe(0);
  });

  it('merges histograms and encodes to a form hdr-histogram decodes', () => {
    const a = new LatencyHistogram(2);
    const b = new LatencyHistogram(2);
    for (let i = 0; i < 100; i++) a.recordMs(1);
    for (let i = 0; i < 100; i++) b.recordMs(100);
    a.add(b);
    expect(a.count).toBe(200);
    expect(a.percentileMs(25)).toBeCloseTo(1, 1);
    expect(a.percentileMs(75)).toBeGreaterThan(99);
    const decoded = hdr.decodeFromCompressedBase64(a.encode());
    expect(decoded.totalCount).toBe(200);
    expect(decoded.maxValue).toBeGreaterThanOrEqual(99_000);
  });
});

describe('peakRate', () => {
  it('takes the best one-second window of 100 ms buckets', () => {
    const buckets = [...new Array<number>(10).fill(5), ...new Array<number>(10).fill(20), ...new Array<number>(5).fill(1)];
    expect(peakRate(buckets)).toBe(200);
  });

  it('scales a run shorter than a second to a rate per second', () => {
    expect(peakRate([10, 10, 10, 10, 10])).toBe(100);
    expect(peakRate([])).toBe(0);
  });
});
