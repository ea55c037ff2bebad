/**
 * The cases of the `cluster` suite, identical for every system (horde, beam, naive-json), and the
 * line protocol every system's driver prints, so the parent checks and reports them all alike.
 *
 * A driver (the process on the sending node) prints one JSON line on stdout per round:
 *
 *   {"case":"oneway-64B","round":R,"messages":N,"seconds":S}
 *   {"case":"ask-rtt","round":R,"samples":N,"p50_us":X,"p99_us":Y}
 *
 * Round 0 is the warm-up (count `warmup`, not reported), rounds 1..`rounds` are measured (count
 * `count`). `messages` is what the receiver counted, not what the sender sent. Percentiles are
 * nearest-rank over the round's sorted samples. The parent reports, per metric, the median over
 * the measured rounds (`RoundCollector`).
 */

import type { Report } from './support/report.js';
import { median } from './support/stats.js';

export const CLUSTER_CASE_NAMES = ['oneway-64B', 'ask-rtt'] as const;
export type ClusterCaseName = (typeof CLUSTER_CASE_NAMES)[number];

export interface ClusterCase {
  name: ClusterCaseName;
  /** Messages a measured round (oneway-64B) or sequential round trips a measured round (ask-rtt). */
  count: number;
  /** The same for the warm-up round. */
  warmup: number;
  rounds: number;
}

/** What the suite hands every system: the cases to run, in order. */
export interface ClusterBenchOptions {
  cases: readonly ClusterCase[];
}

/** Bytes of the payload of each oneway-64B message (a string of this many ASCII characters). */
export const PAYLOAD_BYTES = 64;
export const PAYLOAD = 'x'.repeat(PAYLOAD_BYTES);

/** One million messages take 1-5 s on the 2-core machine for the peers; 20,000 round trips 2-4 s. */
export const CLUSTER_CASES: readonly ClusterCase[] = [
  { name: 'oneway-64B', count: 1_000_000, warmup: 200_000, rounds: 3 },
  { name: 'ask-rtt', count: 20_000, warmup: 2_000, rounds: 1 },
];

export const METRICS: Record<ClusterCaseName, readonly string[]> = {
  'oneway-64B': ['msgs_per_s'],
  'ask-rtt': ['rtt_p50_us', 'rtt_p99_us'],
};

export function isClusterCase(name: string): name is ClusterCaseName {
  return (CLUSTER_CASE_NAMES as readonly string[]).includes(name);
}

/** The cases named (all when none), in the table's order. */
export function selectClusterCases(names: readonly ClusterCaseName[]): ClusterCase[] {
  return CLUSTER_CASES.filter((c) => names.length === 0 || names.includes(c.name));
}

/** One round as a driver prints it, already checked. */
export type RoundLine =
  | { case: 'oneway-64B'; round: number; messages: number; seconds: number }
  | { case: 'ask-rtt'; round: number; samples: number; p50_us: number; p99_us: number };

function positive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** Parses one driver line; throws on anything that is not a well-formed round. */
export function parseRoundLine(line: string, system: string): RoundLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`cluster ${system}: not a JSON line: ${line}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`cluster ${system}: not a round: ${line}`);
  const fields = parsed as Record<string, unknown>;
  const round = fields.round;
  if (!Number.isSafeInteger(round) || typeof round !== 'number' || round < 0) throw new Error(`cluster ${system}: bad round: ${line}`);
  if (fields.case === 'oneway-64B') {
    const { messages, seconds } = fields;
    if (!Number.isSafeInteger(messages) || !positive(messages) || !positive(seconds)) throw new Error(`cluster ${system}: bad oneway round: ${line}`);
    return { case: 'oneway-64B', round, messages, seconds };
  }
  if (fields.case === 'ask-rtt') {
    const { samples, p50_us, p99_us } = fields;
    if (!Number.isSafeInteger(samples) || !positive(samples) || !positive(p50_us) || !positive(p99_us) || p99_us < p50_us) {
      throw new Error(`cluster ${system}: bad ask round: ${line}`);
    }
    return { case: 'ask-rtt', round, samples, p50_us, p99_us };
  }
  throw new Error(`cluster ${system}: round of an unknown case: ${line}`);
}

/**
 * Checks a system's rounds as they come (every case asked for, rounds in order, the counts of the
 * table) and reports the medians once a case's last round is in. `finish` throws if anything is
 * missing.
 */
export class RoundCollector {
  private readonly next = new Map<ClusterCaseName, number>();
  private readonly values = new Map<string, number[]>();
  private readonly done = new Set<ClusterCaseName>();

  constructor(
    private readonly system: string,
    private readonly options: ClusterBenchOptions,
    private readonly report: Report,
  ) {
    for (const c of options.cases) this.next.set(c.name, 0);
  }

  /** Takes one driver line; returns a note for stderr. Throws when the line is wrong. */
  add(line: string): string {
    const round = parseRoundLine(line, this.system);
    const c = this.options.cases.find((candidate) => candidate.name === round.case);
    const expected = this.next.get(round.case);
    if (c === undefined || expected === undefined) throw new Error(`cluster ${this.system}: ${round.case} was not asked for: ${line}`);
    if (round.round !== expected || expected > c.rounds) throw new Error(`cluster ${this.system}: ${round.case} round ${round.round}, expected ${expected}: ${line}`);
    const want = round.round === 0 ? c.warmup : c.count;
    const counted = round.case === 'oneway-64B' ? round.messages : round.samples;
    if (counted !== want) throw new Error(`cluster ${this.system}: ${round.case} round ${round.round} counted ${counted}, the table says ${want}`);
    this.next.set(round.case, expected + 1);
    const label = round.round === 0 ? '(warm-up)' : `round ${round.round}/${c.rounds}`;
    if (round.case === 'oneway-64B') {
      const rate = round.messages / round.seconds;
      if (round.round > 0) this.push('oneway-64B', 'msgs_per_s', rate);
      this.finishCase(c);
      return `${this.system} oneway-64B ${label} messages=${round.messages} seconds=${round.seconds.toFixed(3)} msgs_per_s=${Math.round(rate)}`;
    }
    if (round.round > 0) {
      this.push('ask-rtt', 'rtt_p50_us', round.p50_us);
      this.push('ask-rtt', 'rtt_p99_us', round.p99_us);
    }
    this.finishCase(c);
    return `${this.system} ask-rtt ${label} samples=${round.samples} p50_us=${round.p50_us.toFixed(1)} p99_us=${round.p99_us.toFixed(1)}`;
  }

  /** Throws unless every case asked for has all its rounds. */
  finish(): void {
    const missing = this.options.cases.filter((c) => !this.done.has(c.name)).map((c) => c.name);
    if (missing.length > 0) throw new Error(`cluster ${this.system}: no results for ${missing.join(', ')}`);
  }

  private push(name: ClusterCaseName, metric: string, value: number): void {
    const key = `${name}\0${metric}`;
    this.values.set(key, [...(this.values.get(key) ?? []), value]);
  }

  private finishCase(c: ClusterCase): void {
    if (this.next.get(c.name) !== c.rounds + 1) return;
    this.done.add(c.name);
    for (const metric of METRICS[c.name]) {
      const values = this.values.get(`${c.name}\0${metric}`) ?? [];
      this.report({ case: c.name, system: this.system, metric, value: median(values) });
    }
  }
}
