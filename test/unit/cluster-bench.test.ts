import { describe, expect, it } from 'vitest';
import { RoundCollector, parseRoundLine, selectClusterCases, type ClusterBenchOptions } from '../../bench/cluster-cases.js';
import { checkArgs } from '../../bench/cluster.js';
import type { BenchResult } from '../../bench/support/report.js';

const OPTIONS: ClusterBenchOptions = {
  cases: [
    { name: 'oneway-64B', count: 1000, warmup: 100, rounds: 3 },
    { name: 'ask-rtt', count: 50, warmup: 5, rounds: 1 },
  ],
};

function collector(): { collector: RoundCollector; results: Omit<BenchResult, 'suite'>[] } {
  const results: Omit<BenchResult, 'suite'>[] = [];
  return { collector: new RoundCollector('naive-json', OPTIONS, (result) => results.push(result)), results };
}

const oneway = (round: number, messages: number, seconds: number): string => JSON.stringify({ case: 'oneway-64B', round, messages, seconds });
const ask = (round: number, samples: number, p50: number, p99: number): string =>
  JSON.stringify({ case: 'ask-rtt', round, samples, p50_us: p50, p99_us: p99 });

describe('cluster suite: the driver round lines', () => {
  it('reports the median of the measured rounds, never the warm-up, once a case is complete', () => {
    const { collector: c, results } = collector();
    c.add(oneway(0, 100, 1e-6));
    c.add(oneway(1, 1000, 0.01));
    c.add(oneway(2, 1000, 0.001));
    expect(results).toEqual([]);
    c.add(oneway(3, 1000, 0.004));
    c.add(ask(0, 5, 1, 1000));
    c.add(ask(1, 50, 12.5, 40));
    c.finish();
    expect(results).toEqual([
      { case: 'oneway-64B', system: 'naive-json', metric: 'msgs_per_s', value: 250_000 },
      { case: 'ask-rtt', system: 'naive-json', metric: 'rtt_p50_us', value: 12.5 },
      { case: 'ask-rtt', system: 'naive-json', metric: 'rtt_p99_us', value: 40 },
    ]);
  });

  it('rejects a count that differs from the table (a lost message), out-of-order and extra rounds', () => {
    expect(() => collector().collector.add(oneway(0, 99, 1))).toThrow(/counted 99, the table says 100/);
    expect(() => collector().collector.add(oneway(1, 1000, 1))).toThrow(/round 1, expected 0/);
    const { collector: c } = collector();
    c.add(ask(0, 5, 1, 2));
    c.add(ask(1, 50, 1, 2));
    expect(() => c.add(ask(2, 50, 1, 2))).toThrow(/round 2, expected 2/);
  });

  it('rejects malformed lines and cases not asked for', () => {
    expect(() => parseRoundLine('ready', 'beam')).toThrow(/not a JSON line/);
    expect(() => parseRoundLine('{"case":"oneway-64B","round":1,"messages":10,"seconds":0}', 'beam')).toThrow(/bad oneway round/);
    expect(() => parseRoundLine('{"case":"ask-rtt","round":0,"samples":5,"p50_us":9,"p99_us":3}', 'beam')).toThrow(/bad ask round/);
    expect(() => parseRoundLine('{"case":"pingpong","round":0}', 'beam')).toThrow(/unknown case/);
    const only = new RoundCollector('beam', { cases: selectClusterCases(['ask-rtt']) }, () => undefined);
    expect(() => only.add(oneway(0, 200_000, 1))).toThrow(/was not asked for/);
  });

  it('finish names the cases that have not got all their rounds', () => {
    const { collector: c, results } = collector();
    c.add(oneway(0, 100, 1));
    c.add(oneway(1, 1000, 1));
    expect(() => c.finish()).toThrow(/no results for oneway-64B, ask-rtt/);
    expect(results).toEqual([]);
  });

  it('takes case and system names as arguments, and nothing else', () => {
    expect(checkArgs(['beam', 'ask-rtt', 'naive-json', 'horde', 'oneway-64B'])).toEqual([]);
    expect(checkArgs(['pingpong'])).toEqual([expect.stringContaining('"pingpong" is neither a case')]);
    expect(selectClusterCases([]).map((c) => c.name)).toEqual(['oneway-64B', 'ask-rtt']);
  });
});
