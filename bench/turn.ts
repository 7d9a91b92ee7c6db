/**
 * turn: coturn's turnutils_uclient relays messages through Video Window's embedded TURN
 * server (alone in its own process, src/turn/turn-main.ts), with its native UDP relay and
 * with the JavaScript one, and through coturn's turnserver, one after the other in the
 * same run, with the same client load (channel mode, echoed by turnutils_peer). Per server: packets relayed per CPU-second of the
 * server process (/proc/<pid>/stat), loss, and the open sockets it held at the peak.
 * `--cpu-prof-dir DIR` writes the embedded server's V8 CPU profile there (at its exit).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cpuSeconds,
  randomPort,
  socketCount,
  startPeer,
  startStandaloneTurn,
  uclient,
  waitForUdpPort,
} from '../test/support/turn-tools';
import { loadUdpRelayAddon } from '../src/turn/udp-relay';
import { debianPackage, MissingPrerequisite } from './prerequisites';
import type { Bench, Row } from './run';

const SECRET = 'turn-bench-shared-secret';

interface Server {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

const RELAYS = { native: 'Video Window', node: 'Video Window, JavaScript relay' };

async function startVideoWindow(
  relay: keyof typeof RELAYS,
  totalQuota: number,
  cpuProfileDir?: string,
): Promise<Server> {
  if (relay === 'native' && !loadUdpRelayAddon()) {
    throw new MissingPrerequisite('the native UDP relay is not built: run "npm run build"');
  }
  const server = await startStandaloneTurn(
    {
      TURN_SECRET: SECRET,
      TURN_UDP_RELAY: relay,
      TURN_ALLOWED_PEER_RANGES: '127.0.0.1',
      TURN_USER_QUOTA: String(totalQuota),
      TURN_TOTAL_QUOTA: String(totalQuota),
    },
    cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cpuProfileDir)}`] : [],
  );
  return { name: RELAYS[relay], ...server };
}

async function startCoturn(): Promise<Server> {
  const port = await randomPort();
  const child: ChildProcess = spawn(
    'turnserver',
    [
      ...['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`],
      ...['--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=video-window'],
      ...['--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout'],
      '--no-stdout-log',
    ],
    { stdio: 'ignore' },
  );
  await waitForUdpPort(port);
  return {
    name: 'coturn',
    pid: child.pid!,
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function measure(
  server: Server,
  peerPort: number,
  load: { clients: number; messages: number; size: number },
): Promise<Row> {
  const baseline = socketCount(server.pid);
  let peakSockets = baseline;
  const sampler = setInterval(() => {
    peakSockets = Math.max(peakSockets, socketCount(server.pid));
  }, 100);
  const cpuBefore = cpuSeconds(server.pid);
  const result = await uclient(
    [
      ...['-W', SECRET, '-u', 'bench', '-e', '127.0.0.1', '-r', String(peerPort)],
      ...['-c', '-m', String(load.clients), '-n', String(load.messages), '-l', String(load.size)],
      ...['-p', String(server.port), '127.0.0.1'],
    ],
    600_000,
  );
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  clearInterval(sampler);
  if (result.sent === undefined || result.received === undefined) {
    throw new Error(`${server.name}: turnutils_uclient failed:\n${result.output.slice(-2000)}`);
  }
  // Each echoed message crosses the server twice: client to peer, and back.
  const relayed = result.sent + result.received;
  const loss = /Total lost packets \d+ \(([\d.]+)%\)/.exec(result.output)?.[1];
  return {
    server: server.name,
    'packets relayed': relayed,
    'server CPU s': Number(cpu.toFixed(2)),
    'packets/CPU-s': cpu > 0 ? Math.round(relayed / cpu) : NaN,
    'loss %': Number(Number(loss ?? NaN).toFixed(3)),
    'peak sockets': peakSockets - baseline,
  };
}

export const turnBench: Bench = {
  needs: [
    debianPackage('coturn', ['turnutils_uclient', 'turnutils_peer', 'turnserver']),
    debianPackage('iproute2', ['ss']),
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        clients: { type: 'string', default: '50' },
        messages: { type: 'string', default: '1000' },
        size: { type: 'string', default: '1000' },
        tiny: { type: 'boolean' },
        'cpu-prof-dir': { type: 'string' },
      },
    });
    const load = values.tiny
      ? { clients: 2, messages: 20, size: 100 }
      : {
          clients: Number(values.clients),
          messages: Number(values.messages),
          size: Number(values.size),
        };
    if (Object.values(load).some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error(`--clients, --messages and --size take positive integers`);
    }
    const peerPort = await randomPort();
    const peer = await startPeer('127.0.0.1', peerPort);
    const rows: Row[] = [];
    try {
      const ours = (relay: keyof typeof RELAYS) => () =>
        startVideoWindow(relay, load.clients * 4, values['cpu-prof-dir']);
      for (const start of [ours('native'), ours('node'), startCoturn]) {
        const server = await start();
        try {
          progress(`${server.name}: ${load.clients} clients x ${load.messages} x ${load.size} B`);
          rows.push(await measure(server, peerPort, load));
        } finally {
          await server.stop();
        }
      }
    } finally {
      peer.kill();
    }
    const [ours, , coturn] = rows;
    const ratio = Number(ours['packets/CPU-s']) / Number(coturn['packets/CPU-s']);
    for (const row of rows)
      row['vs coturn'] = Number(
        (Number(row['packets/CPU-s']) / Number(coturn['packets/CPU-s'])).toFixed(2),
      );
    progress(`packets per CPU-second, Video Window / coturn: ${ratio.toFixed(2)}`);
    return rows;
  },
};
