/**
 * TraceHash: a running FNV-1a hash (two 32-bit lanes, 64 bits in all) of the events of a simulated
 * run. Two runs that hash alike took the same events in the same order at the same times; a test
 * asserts a seed's hash to show that it replays event for event.
 */

const FNV_PRIME = 0x01000193;

/** A running 64-bit hash of a run's events. */
export class TraceHash {
  private low = 0x811c9dc5;
  private high = 0xcbf29ce4;
  /** Events hashed so far. */
  events = 0;

  /** Adds one event, described by its text. */
  add(text: string): void {
    let low = this.low;
    let high = this.high;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      low = Math.imul(low ^ code, FNV_PRIME);
      high = Math.imul(high ^ (code + 0x9e), FNV_PRIME) ^ (low >>> 7);
    }
    this.low = Math.imul(low ^ 0x2c, FNV_PRIME) >>> 0;
    this.high = (high ^ (this.low >>> 3)) >>> 0;
    this.events++;
  }

  /** The hash so far, as 16 hexadecimal digits. */
  hex(): string {
    return (this.high >>> 0).toString(16).padStart(8, '0') + (this.low >>> 0).toString(16).padStart(8, '0');
  }
}
