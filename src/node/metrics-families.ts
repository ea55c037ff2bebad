/**
 * The metric families of `/metrics`, all prefixed `horde_`, defined on a prom-client Registry.
 * Each family's collect reads the scrape's MetricsSnapshot (gathered once per scrape, see
 * metrics-server.ts): counters for totals that only grow, gauges for levels. Labels stay low-cardinality:
 * shard, destination, peer, state, reason, service, gateway; never a pid.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { CounterSlot } from '../executor/protocol.js';
import type { MemberState } from '../cluster/status.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;
type Read = (snapshot: MetricsSnapshot, emit: Emit) => void;

const MEMBER_STATES: MemberState[] = ['connecting', 'up', 'suspect', 'down', 'left'];

interface Family {
  type: 'counter' | 'gauge';
  name: string;
  help: string;
  labels: string[];
  read: Read;
}

/** A family per executor counter slot, labelled by shard. */
function perShard(type: Family['type'], name: string, help: string, slot: number): Family {
  return {
    type,
    name,
    help,
    labels: ['shard'],
    read: (snapshot, emit) =>
      snapshot.executors.forEach((reading, shard) => {
        if (reading !== undefined) emit({ shard: String(shard) }, reading[slot]!);
      }),
  };
}

/** A figure of service `service`'s status (a number), labelled by nothing. */
function serviceFigure(type: Family['type'], name: string, help: string, service: string, figure: string): Family {
  return {
    type,
    name,
    help,
    labels: [],
    read: (snapshot, emit) => {
      const value = snapshot.services[service]?.[figure];
      if (typeof value === 'number') emit({}, value);
    },
  };
}

/** A figure of every peer's MemberStatus, labelled by peer name. */
function perPeer(type: Family['type'], name: string, help: string, figure: (member: NonNullable<MetricsSnapshot['cluster']>['members'][number]) => number): Family {
  return {
    type,
    name,
    help,
    labels: ['peer'],
    read: (snapshot, emit) => snapshot.cluster?.members.forEach((member) => emit({ peer: member.name }, figure(member))),
  };
}

/** A figure of every gateway's GatewayStatus, labelled by the gateway's address. */
function perGateway(type: Family['type'], name: string, help: string, figure: (status: MetricsSnapshot['gateways'][number][1]) => number): Family {
  return {
    type,
    name,
    help,
    labels: ['gateway'],
    read: (snapshot, emit) => snapshot.gateways.forEach(([gateway, status]) => emit({ gateway }, figure(status))),
  };
}

const FAMILIES: Family[] = [
  perShard('counter', 'horde_messages_handled_total', 'Messages handed to receive, per executor shard.', CounterSlot.MESSAGES_HANDLED),
  perShard('counter', 'horde_turns_total', 'Process turns run, per executor shard.', CounterSlot.TURNS),
  perShard('counter', 'horde_processes_spawned_total', 'Processes started, per executor shard.', CounterSlot.SPAWNED),
  perShard('counter', 'horde_process_crashes_total', "Processes that ended with a reason other than 'normal' or 'shutdown', per executor shard.", CounterSlot.CRASHED),
  perShard('gauge', 'horde_processes', 'Processes alive, per executor shard.', CounterSlot.PROCESSES),
  perShard('gauge', 'horde_run_queue', 'Processes waiting for a turn, per executor shard.', CounterSlot.RUN_QUEUE),
  perShard('gauge', 'horde_blocked_processes', 'Processes parked because the way to a destination is full, per executor shard.', CounterSlot.BLOCKED),
  perShard('gauge', 'horde_awaiting_spawn_envelopes', 'Envelopes for processes whose spawn is still on its way, per executor shard.', CounterSlot.AWAITING_SPAWN),
  perShard('gauge', 'horde_executor_heap_used_bytes', 'V8 heap in use by the executor thread (refreshed about every 1,024 passes and when idle).', CounterSlot.HEAP_USED),
  {
    type: 'counter',
    name: 'horde_dead_letters_total',
    help: 'Messages that could not be delivered (no such process, no route, too large), by the thread that dropped them (a shard number or main).',
    labels: ['shard'],
    read: (snapshot, emit) => {
      snapshot.executors.forEach((reading, shard) => {
        if (reading !== undefined) emit({ shard: String(shard) }, reading[CounterSlot.DEAD_LETTERS]!);
      });
      emit({ shard: 'main' }, snapshot.mainDeadLetters);
    },
  },
  {
    type: 'gauge',
    name: 'horde_ring_overflow_envelopes',
    help: 'Envelopes a thread holds for a destination while that ring is full, by sending thread (shard number or main) and destination participant.',
    labels: ['shard', 'destination'],
    read: (snapshot, emit) => {
      const each = (shard: string, sizes: ArrayLike<number>, base: number): void => {
        snapshot.participants.forEach((destination, index) => {
          if (destination !== shard) emit({ shard, destination }, sizes[base + index] ?? 0);
        });
      };
      snapshot.executors.forEach((reading, shard) => {
        if (reading !== undefined) each(String(shard), reading, CounterSlot.OVERFLOW_BASE);
      });
      each('main', snapshot.mainOverflow, 0);
    },
  },
  { type: 'counter', name: 'horde_executor_restarts_total', help: 'Executor threads that died and were replaced.', labels: [], read: (s, emit) => emit({}, s.executorRestarts) },
  { type: 'counter', name: 'horde_long_receives_total', help: 'Receives that ran longer than longReceiveMs.', labels: [], read: (s, emit) => emit({}, s.longReceives) },
  { type: 'gauge', name: 'horde_pending_asks', help: 'node.ask calls waiting for their reply.', labels: [], read: (s, emit) => emit({}, s.pendingAsks) },
  { type: 'gauge', name: 'horde_monitors', help: 'Monitors the main thread holds.', labels: [], read: (s, emit) => emit({}, s.monitors) },
  { type: 'gauge', name: 'horde_registered_names', help: 'Names registered on this node.', labels: [], read: (s, emit) => emit({}, s.registeredNames) },
  {
    type: 'counter',
    name: 'horde_service_restarts_total',
    help: 'Service thread replacements after it died, by service.',
    labels: ['service'],
    read: (snapshot, emit) => {
      for (const [service, status] of Object.entries(snapshot.services)) if (status !== undefined) emit({ service }, status.restarts);
    },
  },
  {
    type: 'gauge',
    name: 'horde_service_up',
    help: '1 when the service thread answered this scrape, 0 when it did not within the wait.',
    labels: ['service'],
    read: (snapshot, emit) => {
      for (const [service, status] of Object.entries(snapshot.services)) emit({ service }, status === undefined ? 0 : 1);
    },
  },
  serviceFigure('gauge', 'horde_timers_pending', 'Timers pending in the poller (a repeating one counts once).', 'poller', 'timers'),
  serviceFigure('counter', 'horde_timers_started_total', 'Timers put in the poller since its thread started.', 'poller', 'started'),
  serviceFigure('counter', 'horde_timers_fired_total', 'Timer fires sent since the poller thread started.', 'poller', 'fired'),
  serviceFigure('counter', 'horde_timer_dead_letters_total', 'Timer fires that could not be delivered since the poller thread started.', 'poller', 'deadLetters'),
  serviceFigure('counter', 'horde_file_requests_served_total', 'File and compute requests answered ok since the file worker started.', 'fileio', 'served'),
  serviceFigure('counter', 'horde_file_requests_failed_total', 'File and compute requests answered with an error since the file worker started.', 'fileio', 'failed'),
  serviceFigure('counter', 'horde_file_requests_refused_total', 'File requests refused with HORDE_OVERLOADED since the file worker started.', 'fileio', 'refused'),
  serviceFigure('gauge', 'horde_file_requests_in_flight', 'File and compute requests being carried out.', 'fileio', 'inFlight'),
  serviceFigure('counter', 'horde_durable_log_appends_total', 'Durable log appends acknowledged (written and fdatasync\'d) since the file worker started.', 'fileio', 'logAppends'),
  serviceFigure('counter', 'horde_durable_log_bytes_total', 'Durable log bytes written and acknowledged since the file worker started.', 'fileio', 'logBytes'),
  serviceFigure('counter', 'horde_durable_log_fsyncs_total', 'Durable log fdatasync calls (one per batch of appends) since the file worker started.', 'fileio', 'logFsyncs'),
  serviceFigure('gauge', 'horde_durable_logs_open', 'Durable logs open in the file worker.', 'fileio', 'logs'),
  {
    type: 'gauge',
    name: 'horde_peer_state',
    help: 'Each peer node in each state: 1 for its current state, 0 for the others.',
    labels: ['peer', 'state'],
    read: (snapshot, emit) =>
      snapshot.cluster?.members.forEach((member) => {
        for (const state of MEMBER_STATES) emit({ peer: member.name, state }, member.state === state ? 1 : 0);
      }),
  },
  perPeer('gauge', 'horde_peer_phi', 'Phi-accrual suspicion of the peer now.', (member) => member.phi),
  perPeer('gauge', 'horde_peer_connected', '1 while a session with the peer is established.', (member) => (member.connected ? 1 : 0)),
  perPeer('gauge', 'horde_peer_queued_bytes', 'Bytes queued for the peer (pending and in flight).', (member) => member.queuedBytes),
  perPeer('counter', 'horde_peer_received_bytes_total', 'Bytes read from the current connection to the peer (from zero at each reconnection).', (member) => member.bytesIn),
  perPeer('counter', 'horde_peer_sent_bytes_total', 'Bytes written to the current connection to the peer (from zero at each reconnection).', (member) => member.bytesOut),
  perPeer('counter', 'horde_peer_resent_batches_total', 'Batches sent to the peer again after a reconnection.', (member) => member.resentBatches),
  perPeer('counter', 'horde_peer_duplicate_batches_total', 'Batches the peer sent again that had already been delivered.', (member) => member.duplicateBatches),
  perPeer('gauge', 'horde_peer_watches', 'Monitors and links tracked between the peer and this node.', (member) => member.watches),
  {
    type: 'counter',
    name: 'horde_cluster_closed_connections_total',
    help: 'Cluster connections closed, by reason code.',
    labels: ['reason'],
    read: (snapshot, emit) => {
      for (const [reason, count] of Object.entries(snapshot.cluster?.closedConnections ?? {})) emit({ reason }, count);
    },
  },
  {
    type: 'counter',
    name: 'horde_cluster_dead_letters_total',
    help: 'Envelopes for other nodes that were dropped (node down, gone or unknown, or restarted).',
    labels: [],
    read: (snapshot, emit) => {
      if (snapshot.cluster !== undefined) emit({}, snapshot.cluster.deadLetters);
    },
  },
  perGateway('gauge', 'horde_gateway_connections', 'Client connections open.', (status) => status.connections),
  perGateway('counter', 'horde_gateway_requests_admitted_total', 'Requests handed to their service.', (status) => status.admitted),
  perGateway('counter', 'horde_gateway_requests_completed_total', "Admitted requests answered with the service's reply.", (status) => status.completed),
  perGateway('counter', 'horde_gateway_requests_failed_total', 'Admitted requests that ended in an error.', (status) => status.failed),
  perGateway('counter', 'horde_gateway_requests_shed_total', 'Requests answered HORDE_OVERLOADED without running.', (status) => status.shed),
  perGateway('counter', 'horde_gateway_requests_rejected_total', 'Requests refused for what they are (unknown service, bad payload, duplicate id).', (status) => status.rejected),
  perGateway('gauge', 'horde_gateway_requests_held', 'Requests waiting for admission.', (status) => status.held),
  perGateway('gauge', 'horde_gateway_requests_in_flight', 'Admitted requests not answered yet.', (status) => status.inFlight),
  perGateway('gauge', 'horde_gateway_throttled', '1 while the throttle is on.', (status) => (status.throttled ? 1 : 0)),
  perGateway('counter', 'horde_gateway_throttle_changes_total', 'Times the throttle turned on or off.', (status) => status.throttleChanges),
  perGateway('gauge', 'horde_gateway_admission_window', 'Requests that may be in flight now.', (status) => status.admissionWindow),
  perGateway('gauge', 'horde_gateway_canary_p99_seconds', 'p99 of the canary round trips over the latency window.', (status) => status.canaryP99Ms / 1000),
  perGateway('gauge', 'horde_gateway_request_p99_seconds', 'p99 of the request round trips over the latency window.', (status) => status.requestP99Ms / 1000),
  perGateway('counter', 'horde_gateway_refused_connections_total', 'New connections closed at once (at maxConnections, or closing).', (status) => status.refusedConnections),
  perGateway('counter', 'horde_gateway_bad_frames_total', 'Frames too large or that did not decode.', (status) => status.badFrames),
];

/** Defines every family on `registry`; their collect reads `current()`, the scrape's snapshot. */
export function defineFamilies(registry: Registry, current: () => MetricsSnapshot | undefined): void {
  for (const family of FAMILIES) {
    const common = { name: family.name, help: family.help, labelNames: family.labels, registers: [registry] };
    if (family.type === 'counter') {
      new Counter({
        ...common,
        collect() {
          this.reset();
          const snapshot = current();
          if (snapshot !== undefined) family.read(snapshot, (labels, value) => this.inc(labels, value));
        },
      });
    } else {
      new Gauge({
        ...common,
        collect() {
          this.reset();
          const snapshot = current();
          if (snapshot !== undefined) family.read(snapshot, (labels, value) => this.set(labels, value));
        },
      });
    }
  }
}
