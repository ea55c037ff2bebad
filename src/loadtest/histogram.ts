// Latency histograms: HdrHistogram in microseconds, values above the range clamped to its top.
// hdr-histogram-js is loaded on first use: the package root exports the load-test harness, and
// every thread that imports horde (behaviour modules do) would otherwise pay for loading it.
import { createRequire } from 'node:module';
import type * as Hdr from 'hdr-histogram-js';
import type { LatencySummary } from './types.js';

let loaded: typeof Hdr | undefined;
function hdr(): typeof Hdr {
  loaded ??= createRequire(import.meta.url)('hdr-histogram-js') as typeof Hdr;
  return loaded;
}

/** The highest latency a histogram holds (60 s); longer ones are recorded as 60 s. */
export const MAX_LATENCY_US = 60_000_000;

export class LatencyHistogram {
  private readonly histogram: Hdr.Histogram;
  /** Values above MAX_LATENCY_US that were recorded as MAX_LATENCY_US. */
  clamped = 0;

  /** `digits`: significant digits (3 = 0.1% resolution, about 95 KB; 2 = 1%, about 12 KB). */
  constructor(digits: 2 | 3 = 3) {
    this.histogram = hdr().build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: MAX_LATENCY_US,
      numberOfSignificantValueDigits: digits,
      autoResize: false,
    });
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (!(us >= 0)) us = 0; // negative or NaN: a clock that went backwards counts as zero
    if (us > MAX_LATENCY_US) {
      us = MAX_LATENCY_US;
      this.clamped++;
    }
    this.histogram.recordValue(us);
  }

  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
    this.clamped += other.clamped;
  }

  /** The value at `percentile`, never above the highest value recorded (hdr reports the top of a bucket). */
  percentileMs(percentile: number): number {
    return Math.min(this.histogram.getValueAtPercentile(percentile), this.histogram.maxValue) / 1000;
  }

  summary(): LatencySummary | null {
    if (this.count === 0) return null;
    return {
      p50Ms: this.percentileMs(50),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: this.histogram.maxValue / 1000,
      count: this.count,
    };
  }

  /** hdr-histogram's compressed base64 form (readable by any HdrHistogram implementation). */
  encode(): string {
    return hdr().encodeIntoCompressedBase64(this.histogram);
  }
}
