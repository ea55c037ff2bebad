/**
 * Failure detection for the cluster server: the heartbeat tick, and a phi-accrual detector per
 * peer (phi-detector.ts) driving its member state between 'up', 'suspect' and 'down'.
 *
 * Design note (main thread's event loop; clock and timers from the host):
 * - Every `heartbeatMs` the tick sends a Heartbeat (stamped with wall-clock time, for the record)
 *   on the control lane of every peer whose session is ready, then reads each live peer's phi at
 *   the monotonic clock: from `downPhi` the peer is declared down (`events.down`: the server drops
 *   its session and fires its watches), from `suspectPhi` an 'up' peer becomes 'suspect', and a
 *   'suspect' peer whose phi fell below `suspectPhi` again is 'up' if its session is ready.
 * - A Heartbeat frame from a peer is a heartbeat of its detector at the monotonic clock (`heard`);
 *   so is the start of a session (a detector is created "having just heard").
 * - Detection is as fast as the tick: a peer is declared down on the first tick at which phi is
 *   at `downPhi` (with the defaults, 200 ms heartbeats and phi 8, 1.52-1.72 s after it went
 *   silent; see phi-detector.ts).
 */
import type { Clock, TimerHandle, Timers } from '../internal/host.js';
import type { ResolvedClusterOptions } from './options.js';
import type { Peer } from './peers.js';
import { PhiAccrualDetector } from './phi-detector.js';
import type { MemberState } from './status.js';

export interface FailureEvents {
  /** The peers to watch. */
  peers(): Iterable<Peer>;
  setState(peer: Peer, state: MemberState): void;
  /** `peer`'s phi reached `downPhi` (its state is already 'down'). */
  down(peer: Peer): void;
}

export type FailureOptions = Pick<ResolvedClusterOptions, 'heartbeatMs' | 'suspectPhi' | 'downPhi'>;

export class FailureDetector {
  private readonly timer: TimerHandle;

  constructor(
    private readonly options: FailureOptions,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly events: FailureEvents,
  ) {
    this.timer = timers.interval(() => this.tick(), options.heartbeatMs, true);
  }

  /** A detector that has just heard from its peer. */
  fresh(): PhiAccrualDetector {
    const detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: this.options.heartbeatMs });
    detector.heartbeat(this.clock.monotonicMs());
    return detector;
  }

  /** A heartbeat from `peer` arrived. */
  heard(peer: Peer): void {
    peer.detector.heartbeat(this.clock.monotonicMs());
  }

  /** `peer`'s phi now. */
  phi(peer: Peer): number {
    return peer.detector.phi(this.clock.monotonicMs());
  }

  stop(): void {
    this.timers.clear(this.timer);
  }

  private tick(): void {
    const sentAtMs = this.clock.wallMs();
    const now = this.clock.monotonicMs();
    for (const peer of this.events.peers()) {
      if (peer.ready) peer.connection!.sendControl({ kind: 'heartbeat', sentAtMs });
      if (peer.state === 'down' || peer.state === 'left') continue;
      const phi = peer.detector.phi(now);
      if (phi >= this.options.downPhi) {
        this.events.setState(peer, 'down');
        this.events.down(peer);
      } else if (phi >= this.options.suspectPhi && peer.state === 'up') {
        this.events.setState(peer, 'suspect');
      } else if (phi < this.options.suspectPhi && peer.state === 'suspect' && peer.ready) {
        this.events.setState(peer, 'up');
      }
    }
  }
}
