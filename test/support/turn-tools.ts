/**
 * coturn's command-line tools as real TURN clients and peers (turnutils_uclient,
 * turnutils_peer), and the embedded TURN server alone in its own process.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { TurnServerOptions } from '../../src/turn/turn-server';

const run = promisify(execFile);
const REPO_ROOT = join(__dirname, '..', '..');

export interface Certificate {
  certFile: string;
  keyFile: string;
  remove(): void;
}

/** A self-signed certificate for 127.0.0.1 (P-256, one day), in a folder of its own. */
export async function selfSignedCertificate(): Promise<Certificate> {
  const dir = mkdtempSync(join(tmpdir(), 'vw-certificate-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', certFile],
  ]);
  return { certFile, keyFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A UDP peer on 127.0.0.1 that sends every datagram back where it came from. */
export async function udpEchoPeer(): Promise<{ socket: UdpSocket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (message, rinfo) => socket.send(message, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}

/** A port in 20000-59999 that is free for UDP and TCP at the moment of asking. */
export async function randomPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const { stdout } = await run('ss', ['-Hlntu', `sport = :${port}`]);
    if (!stdout.trim()) return port;
  }
}

export async function waitForUdpPort(port: number, host = '127.0.0.1') {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { stdout } = await run('ss', ['-Hlun', `sport = :${port}`]);
    if (stdout.includes(`${host}:${port}`)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on udp ${host}:${port}`);
}

/** turnutils_peer: echoes every datagram back to its sender. */
export async function startPeer(host: string, port: number): Promise<ChildProcess> {
  const peer = spawn('turnutils_peer', ['-L', host, '-p', String(port)], { stdio: 'ignore' });
  await waitForUdpPort(port, host);
  return peer;
}

export interface UclientResult {
  ok: boolean;
  output: string;
  /** "Total lost packets N (x%)" */
  lost?: number;
  sent?: number;
  received?: number;
}

/** Runs turnutils_uclient to completion with the given arguments. */
export async function uclient(args: string[], timeoutMs = 45_000): Promise<UclientResult> {
  const outcome = await run('turnutils_uclient', args, {
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  }).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (error: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
  const number = (pattern: RegExp) => {
    const match = pattern.exec(outcome.output);
    return match ? Number(match[1]) : undefined;
  };
  return {
    ...outcome,
    lost: number(/Total lost packets (\d+)/),
    sent: number(/start_mclient: tot_send_msgs=(\d+)/),
    received: number(/start_mclient: tot_send_msgs=\d+, tot_recv_msgs=(\d+)/),
  };
}

/** Open sockets of a process (its /proc/<pid>/fd entries that are sockets). */
export function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) counted from 1, i.e. 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface StandaloneTurn {
  pid: number;
  port: number;
  tlsPort?: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The embedded TURN server alone (src/turn/turn-main.ts) in a child process with the
 * test configuration plus `env`; TURN_SECRET must be among them. `nodeOptions` go to
 * node before the script (e.g. --cpu-prof, which NODE_OPTIONS does not accept).
 */
export async function startStandaloneTurn(
  env: Record<string, string>,
  nodeOptions: string[] = [],
): Promise<StandaloneTurn> {
  const child = spawn(
    process.execPath,
    [
      ...nodeOptions,
      ...['-r', join(REPO_ROOT, 'bench/register-ts.js'), join(REPO_ROOT, 'src/turn/turn-main.ts')],
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', TURN_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const listening = await new Promise<{ port: number; tlsPort?: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no TURN server: ${lines.join('\n')}`));
    }, 20_000);
    child.once('exit', (code) =>
      reject(new Error(`TURN server exited ${code}: ${lines.join('\n')}`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (lines.length > 2000) lines.splice(0, 1000);
      if (line.includes('TURN server listening')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(JSON.parse(line) as { port: number; tlsPort?: number });
      }
    });
  });
  return {
    pid: child.pid!,
    ...listening,
    output: () => lines.join('\n'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TURN server in the test's own process on loopback (peers on 127.0.0.1 allowed). */
export const loopbackTurnOptions = (
  secret: string,
  logger: TurnServerOptions['logger'],
  overrides: Partial<TurnServerOptions> = {},
): TurnServerOptions => ({
  listenIp: '127.0.0.1',
  port: 0,
  relayIp: '127.0.0.1',
  relayAnnouncedIp: '127.0.0.1',
  realm: 'video-window',
  secret,
  defaultLifetimeSeconds: 600,
  maxLifetimeSeconds: 3600,
  nonceLifetimeSeconds: 600,
  userQuota: 2,
  totalQuota: 100,
  maxBitsPerSecond: 0,
  allowedPeerRanges: ['127.0.0.1/32'],
  logger,
  ...overrides,
});
