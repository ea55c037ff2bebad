/**
 * RestartIntensity: at most `intensity` restarts within any `periodMs`, counted as an OTP
 * supervisor counts them. The supervisor behaviour uses it for its children and the node for its
 * service threads. Pure: the caller passes the time in.
 */
export class RestartIntensity {
  private times: number[] = [];

  constructor(
    readonly intensity: number,
    readonly periodMs: number,
  ) {}

  /** Counts a restart at `now`; false when it is one too many (more than `intensity` within `periodMs`). */
  allow(now: number): boolean {
    this.times = this.times.filter((time) => now - time < this.periodMs);
    this.times.push(now);
    return this.times.length <= this.intensity;
  }
}
