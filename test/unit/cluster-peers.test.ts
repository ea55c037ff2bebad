// Redialling a peer (peers.ts) on manual timers with a Random the test controls: the jittered,
// doubling backoff, the rule that only the smaller name redials, and a connection resetting it.
import { describe, expect, it } from 'vitest';
import { Peers, type PeerEvents } from '../../src/cluster/peers.js';
import { PhiAccrualDetector } from '../../src/cluster/phi-detector.js';
import { ManualClock, ManualTimers } from '../support/manual-time.js';

function setup(self: string, draws: () => number): { peers: Peers; clock: ManualClock; timers: ManualTimers; dials: number[] } {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const dials: number[] = [];
  const events: PeerEvents = {
    discovered: () => undefined,
    stateChanged: () => undefined,
    dial: () => dials.push(clock.monotonicMs()),
    freshDetector: () => new PhiAccrualDetector(),
  };
  const peers = new Peers({ name: self, reconnectMinMs: 50, reconnectMaxMs: 2000, maxWatchesPerPeer: 10 }, timers, { next: draws }, events);
  return { peers, clock, timers, dials };
}

const member = (name: string): { name: string; nodeId: number; host: string; port: number; incarnation: string } => ({ name, nodeId: 9, host: '10.0.0.9', port: 7000, incarnation: 'i1' });
const settled = (): Promise<void> => Promise.resolve();

describe('redialling a peer', () => {
  it('doubles the backoff from reconnectMinMs to reconnectMaxMs, jittered by the Random in [0.5, 1.5)', async () => {
    const { peers, timers, dials } = setup('a', () => 0.5);
    peers.learn(member('b'));
    await timers.run(7_150, settled);
    // Jitter 1: delays 50, 100, 200, 400, 800, 1600, 2000, 2000.
    expect(dials).toEqual([50, 150, 350, 750, 1550, 3150, 5150, 7150]);
  });

  it('takes the jitter from the Random it is given', async () => {
    const draws = [0, 0.999, 0.25];
    const { peers, timers, dials } = setup('a', () => draws.shift() ?? 0.5);
    peers.learn(member('b'));
    await timers.run(1_000, settled);
    // 50 * 0.5, then 100 * 1.499, then 200 * 0.75, then 400 * 1.
    expect(dials.map((t) => Math.round(t * 1000) / 1000)).toEqual([25, 174.9, 324.9, 724.9]);
  });

  it('leaves the redialling to the node with the smaller name', async () => {
    const { peers, timers, dials } = setup('z', () => 0.5);
    peers.learn(member('b'));
    await timers.run(10_000, settled);
    expect(dials).toEqual([]);
    expect(timers.size).toBe(0);
  });

  it('starts the backoff over once connected, and stops redialling when stopped', async () => {
    const { peers, timers, dials } = setup('a', () => 0.5);
    const peer = peers.learn(member('b'));
    await timers.run(400, settled); // dials at 50, 150, 350; the next is due at 750
    peers.connected(peer);
    expect(timers.size).toBe(0);
    peers.scheduleReconnect(peer); // the connection closed at 400
    await timers.run(100, settled);
    expect(dials).toEqual([50, 150, 350, 450]);
    peers.stop();
    expect(timers.size).toBe(0);
    await timers.run(10_000, settled);
    expect(dials).toHaveLength(4);
  });
});
