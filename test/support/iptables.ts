// Loopback firewall rules for the conformance suite's real partitions: DROP rules in the INPUT
// chain on `lo`, each remembered so that `removeAllDrops` deletes exactly what was added (with
// `iptables -D` of the same spec), and a reader of the TCP connections on loopback (`ss`) to find
// which port pairs a partition must cut. Every rule carries the comment `horde-conformance-<pid>`,
// so that `removeStaleDrops` can delete what a test process that died (kill -9, a crash) left
// behind, and only that. Needs root and the iptables command; without them `requireIptables`
// throws (a partition test fails; it never skips).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every rule added and not yet removed, as its match arguments (after `-A INPUT`). */
const added: string[][] = [];
const TAG = 'horde-conformance-';

/** Throws a clear error unless iptables can be run (installed, and this process is root). */
export async function requireIptables(): Promise<void> {
  try {
    await run('iptables', ['-w', '-S', 'INPUT']);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'the iptables command is missing (apt-get install iptables)' : `iptables -S INPUT failed (run as root): ${(error as Error).message}`;
    throw new Error(`the conformance suite's real partitions need iptables as root: ${why}`);
  }
}

/** Adds `iptables -A INPUT -i lo -p tcp <match> -j DROP` and remembers it. */
export async function dropOnLoopback(match: string[]): Promise<void> {
  const spec = ['-i', 'lo', '-p', 'tcp', ...match, '-m', 'comment', '--comment', `${TAG}${process.pid}`, '-j', 'DROP'];
  await run('iptables', ['-w', '-A', 'INPUT', ...spec]);
  added.push(spec);
}

/** Deletes every rule `dropOnLoopback` added (each with `iptables -D`), newest first; throws after trying all if one failed. */
export async function removeAllDrops(): Promise<void> {
  const failures: string[] = [];
  while (added.length > 0) {
    const spec = added.pop()!;
    try {
      await run('iptables', ['-w', '-D', 'INPUT', ...spec]);
    } catch (error) {
      failures.push(`iptables -D INPUT ${spec.join(' ')}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`could not remove firewall rules:\n${failures.join('\n')}`);
}

/** Deletes the rules of test processes that no longer run (when iptables can be run at all). */
export async function removeStaleDrops(): Promise<void> {
  let listing: string;
  try {
    listing = (await run('iptables', ['-w', '-S', 'INPUT'])).stdout;
  } catch (error) {
    // No iptables (or not root): no rules can have been left; the partitions will say so.
    process.stderr.write(`conformance: iptables not usable, no stale rules to remove: ${(error as Error).message}\n`);
    return;
  }
  for (const line of listing.split('\n')) {
    const pid = new RegExp(`--comment ${TAG}(\\d+)`).exec(line);
    if (pid === null || Number(pid[1]) === process.pid || alive(Number(pid[1]))) continue;
    await run('iptables', ['-w', '-D', ...line.trim().split(/\s+/).slice(1)]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** The number of rules added and not removed. */
export function dropsInPlace(): number {
  return added.length;
}

/** One end of a TCP connection on 127.0.0.1, as `ss` shows it. */
export interface LoopbackSocket {
  localPort: number;
  peerPort: number;
  /** The process holding the socket (undefined when ss shows none). */
  pid: number | undefined;
}

/** The TCP sockets between 127.0.0.1 ports, in every state but LISTEN (`ss -tanpH`). */
export async function loopbackSockets(): Promise<LoopbackSocket[]> {
  const { stdout } = await run('ss', ['-tanpH']);
  const sockets: LoopbackSocket[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+\d+\s+\d+\s+127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s*(.*)$/.exec(line.trim());
    if (m === null || m[1] === 'LISTEN') continue;
    const pid = /pid=(\d+)/.exec(m[4]!);
    sockets.push({ localPort: Number(m[2]), peerPort: Number(m[3]), pid: pid === null ? undefined : Number(pid[1]) });
  }
  return sockets;
}
