/**
 * The client side of `horde status`: authenticates to a member with the cluster secret (role
 * STATUS: it may only ask for status), asks once, and returns the member's ClusterStatus.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, HordeError } from '../errors.js';
import { systemTimers, type Timers } from '../internal/host.js';
import { tcpTransport } from '../net/transport-tcp.js';
import type { Transport } from '../net/transport.js';
import type { ClusterStatus } from './cluster.js';
import { Connection } from './connection.js';
import { checkSecret } from './handshake-crypto.js';
import { Role } from './wire.js';

export function fetchClusterStatus(
  host: string,
  port: number,
  secret: Uint8Array | string,
  timeoutMs = 5000,
  seams: { transport?: Transport; timers?: Timers } = {},
): Promise<ClusterStatus> {
  const timers = seams.timers ?? systemTimers;
  const transport = seams.transport ?? tcpTransport();
  const key = checkSecret(secret);
  return new Promise<ClusterStatus>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | undefined, status?: ClusterStatus): void => {
      if (settled) return;
      settled = true;
      timers.clear(timer);
      if (error !== undefined) reject(error);
      else resolve(status!);
    };
    const timer = timers.timeout(() => {
      connection.close('status timed out');
      settle(new HordeError(ErrorCode.TIMEOUT, `no status from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const identity = { name: `status-${randomBytes(4).toString('hex')}`, nodeId: 0, incarnation: randomBytes(8).toString('hex'), host: '', port: 0, role: Role.STATUS };
    const connection: Connection = new Connection(transport.dial({ host, port }), true, identity, key, { maxFrameBytes: 16 * 1024 * 1024, handshakeTimeoutMs: timeoutMs }, {
      authenticated: (conn) => conn.sendControl({ kind: 'status_request' }),
      frame: (conn, frame) => {
        if (frame.kind === 'status_reply') {
          settle(undefined, frame.status as ClusterStatus);
          conn.close('done');
        }
      },
      drain: () => undefined,
      closed: (_conn, reason, code) => settle(new HordeError(code ?? ErrorCode.CONNECTION_CLOSED, `status from ${host}:${port}: ${reason}`)),
    }, timers);
  });
}
