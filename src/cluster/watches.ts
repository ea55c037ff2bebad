/**
 * Monitors and links that cross between this node and one peer node, tracked from the envelopes
 * the cluster server forwards (MONITOR, DEMONITOR, LINK, UNLINK, DOWN, EXIT), so that when the
 * peer is declared down every one of them fires:
 * - a local process monitoring a remote one gets DOWN with reason 'noconnection';
 * - a remote process monitoring a local one: the local side drops that monitor (DEMONITOR);
 * - a link between a local and a remote process: the local one gets an exit signal
 *   'noconnection' from the remote one (links are symmetric, so it does not matter who linked).
 *
 * Bound: at most `limit` entries per peer (the tracked monitors and links of live processes);
 * past it `track` reports false and the caller answers the MONITOR or LINK with 'noconnection'
 * at once rather than keep a watch it could not honour.
 */
import { Signal } from '../codec/envelope.js';
import { pidKey, type Pid } from '../process/pid.js';

export interface Watch {
  /** 'monitor-out': local watcher, remote target. 'monitor-in': remote watcher, local target. */
  kind: 'monitor-out' | 'monitor-in' | 'link';
  local: Pid;
  remote: Pid;
  ref: number;
}

export class PeerWatches {
  private readonly entries = new Map<string, Watch>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Records what an envelope crossing the boundary does to the watches. `outgoing`: from a local
   * process to the peer; otherwise from the peer to a local process. Returns false when a new
   * watch was refused because the table is full.
   */
  track(signal: Signal, outgoing: boolean, from: Pid | undefined, to: Pid, ref: number): boolean {
    if (from === undefined) return true;
    const local = outgoing ? from : to;
    const remote = outgoing ? to : from;
    switch (signal) {
      case Signal.MONITOR:
        return this.add(monitorKey(from, ref), { kind: outgoing ? 'monitor-out' : 'monitor-in', local, remote, ref });
      case Signal.DEMONITOR:
        this.entries.delete(monitorKey(from, ref));
        return true;
      case Signal.DOWN:
        // A DOWN travels from the target's side to the watcher: it ends the watcher's monitor.
        this.entries.delete(monitorKey(to, ref));
        return true;
      case Signal.LINK:
        return this.add(linkKey(local, remote), { kind: 'link', local, remote, ref: 0 });
      case Signal.UNLINK:
      case Signal.EXIT:
        this.entries.delete(linkKey(local, remote));
        return true;
      default:
        return true;
    }
  }

  /** Everything tracked, emptied: the peer is gone. */
  drain(): Watch[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    return all;
  }

  private add(key: string, watch: Watch): boolean {
    if (!this.entries.has(key) && this.entries.size >= this.limit) return false;
    this.entries.set(key, watch);
    return true;
  }
}

/** A monitor is named by its watcher and the watcher's ref (refs are unique per watcher's shard). */
function monitorKey(watcher: Pid, ref: number): string {
  return `monitor:${pidKey(watcher)}:${ref}`;
}

function linkKey(local: Pid, remote: Pid): string {
  return `link:${pidKey(local)}:${pidKey(remote)}`;
}
