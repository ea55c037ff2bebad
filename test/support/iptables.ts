// Loopback firewall rules for the conformance suite's real partitions: DROP rules in the INPUT
// chain on `lo`, added at once (one iptables-restore transaction, so a partition starts whole) and
// each remembered so that `removeAllDrops` deletes exactly what was added (`-D` of the same spec), and a reader of the TCP connections on loopback (from /proc) to
// find which port pairs a partition must cut. Every rule carries the comment `horde-conformance-<pid>`,
// so that `removeStaleDrops` can delete what a test process that died (kill -9, a crash) left
// behind, and only that. Needs root and the iptables command; without them `requireIptables`
// throws (a partition test fails; it never skips).
import { execFile, spawn } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
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

/** Adds `-A INPUT -i lo -p tcp <match> -j DROP` for every match at once (one iptables-restore transaction) and remembers them. */
export async function dropOnLoopback(matches: readonly string[][]): Promise<void> {
  const specs = matches.map((match) => ['-i', 'lo', '-p', 'tcp', ...match, '-m', 'comment', '--comment', `${TAG}${process.pid}`, '-j', 'DROP']);
  await restore(specs.map((spec) => ['-A', 'INPUT', ...spec]));
  added.push(...specs);
}

/** Deletes every rule `dropOnLoopback` added, at once; if that fails, one by one (throwing after trying all if one failed). */
export async function removeAllDrops(): Promise<void> {
  if (added.length === 0) return;
  const specs = added.splice(0);
  try {
    await restore(specs.map((spec) => ['-D', 'INPUT', ...spec]));
    return;
  } catch (error) {
    process.stderr.write(`conformance: removing the rules at once failed, one by one now: ${(error as Error).message}\n`);
  }
  const failures: string[] = [];
  for (const spec of specs) {
    try {
      await run('iptables', ['-w', '-D', 'INPUT', ...spec]);
    } catch (error) {
      failures.push(`iptables -D INPUT ${spec.join(' ')}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`could not remove firewall rules:\n${failures.join('\n')}`);
}

/** Applies `rules` (iptables arguments, without spaces inside one) to the filter table as one transaction. */
function restore(rules: readonly string[][]): Promise<void> {
  const input = `*filter\n${rules.map((rule) => rule.join(' ')).join('\n')}\nCOMMIT\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('iptables-restore', ['--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`iptables-restore exited with ${String(code)}: ${stderr.trim()}`))));
    child.stdin.end(input);
  });
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

/** One end of a TCP connection between two 127.0.0.1 ports, and the process holding it. */
export interface LoopbackSocket {
  localPort: number;
  peerPort: number;
  pid: number;
}

/**
 * The TCP sockets of processes `pids` between 127.0.0.1 ports, in every state but LISTEN: the
 * kernel's table (/proc/net/tcp) joined to each process's open sockets (/proc/PID/fd).
 */
export async function loopbackSockets(pids: readonly number[]): Promise<LoopbackSocket[]> {
  const owners = new Map<string, number>();
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch((error: unknown) => {
        // An fd closed between the listing and the look-up.
        if ((error as { code?: unknown }).code === 'ENOENT') return '';
        throw error;
      });
      const inode = /^socket:\[(\d+)\]$/.exec(target);
      if (inode !== null) owners.set(inode[1]!, pid);
    }
  }
  const sockets: LoopbackSocket[] = [];
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode.
    const [local, remote, state, inode] = [f[1], f[2], f[3], f[9]];
    if (local === undefined || remote === undefined || inode === undefined || state === '0A') continue;
    const pid = owners.get(inode);
    if (pid === undefined || !local.startsWith('0100007F:') || !remote.startsWith('0100007F:')) continue;
    sockets.push({ localPort: parseInt(local.slice(9), 16), peerPort: parseInt(remote.slice(9), 16), pid });
  }
  return sockets;
}
