/**
 * A network fault on loopback without netfilter (this machine has neither iptables nor
 * netem): policy routing rules that blackhole UDP to given local ports. Loopback routes
 * live in the `local` table, whose rule comes first (preference 0); while a blackhole is
 * in place that rule moves behind ours, and it comes back when the last one is lifted.
 * Needs root, as the network-namespace suites do.
 */
import { execFileSync } from 'node:child_process';

const BLACKHOLE_PREF = '10';
const MOVED_LOCAL_PREF = '100';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' }).toString();

/** The UDP ports the processes listen on (bound sockets, on any address). */
export function udpPortsOf(pids: number[]): number[] {
  const lines = execFileSync('ss', ['-uanpH']).toString().split('\n');
  const owned = lines.filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)));
  return [...new Set(owned.map((line) => Number(/:(\d+)\s/.exec(line)?.[1])))]
    .filter((port) => port > 0)
    .sort((a, b) => a - b);
}

/**
 * Drops every UDP datagram sent to 127.0.0.1 on those ports until the returned function
 * lifts the blackhole (senders get EINVAL, as from a route that leads nowhere).
 */
export function blackholeUdp(ports: number[]): () => void {
  moveLocalRule('0', MOVED_LOCAL_PREF);
  const rule = (port: number) => [
    'pref',
    BLACKHOLE_PREF,
    'to',
    '127.0.0.1',
    'ipproto',
    'udp',
    'dport',
    String(port),
    'blackhole',
  ];
  for (const port of ports) ip('rule', 'add', ...rule(port));
  return () => {
    for (const port of ports) ip('rule', 'del', ...rule(port));
    moveLocalRule(MOVED_LOCAL_PREF, '0');
  };
}

/** Moves the `local` table's rule (idempotent: a run killed midway left it moved). */
function moveLocalRule(from: string, to: string) {
  const at = (pref: string) => ip('rule', 'show', 'pref', pref).includes('lookup local');
  if (!at(to)) ip('rule', 'add', 'pref', to, 'lookup', 'local');
  if (at(from)) ip('rule', 'del', 'pref', from, 'lookup', 'local');
}
