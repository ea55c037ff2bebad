// Interim phi-accrual detector (replaced by the clstate branch's module at merge).
export class PhiAccrualDetector {
  private last = 0;
  private readonly intervals: number[] = [];
  constructor(private readonly options: { expectedIntervalMs: number }) {}
  heartbeat(now: number): void {
    if (this.last > 0) {
      this.intervals.push(now - this.last);
      if (this.intervals.length > 100) this.intervals.shift();
    }
    this.last = now;
  }
  phi(now: number): number {
    const n = this.intervals.length;
    const mean = n === 0 ? this.options.expectedIntervalMs : this.intervals.reduce((a, b) => a + b, 0) / n;
    const variance = n === 0 ? 0 : this.intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const std = Math.max(Math.sqrt(variance), mean / 4, 20);
    const y = (now - this.last - mean) / std;
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    const p = y > 0 ? e / (1 + e) : 1 - 1 / (1 + e);
    return -Math.log10(Math.max(p, 1e-300));
  }
}
