/**
 * A real shard as its own process: `node dist/main.js` (the build and the mediasoup
 * worker must exist), optionally alone in a new loopback-only network namespace. Unlike
 * startShard() in this process, a crash is seen as what it is: the process exits.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface ShardProcess {
  /** Pid of the shard's node process (in a namespace, the namespace's first process). */
  pid: number;
  /** Base URL (as seen from inside the namespace when there is one). */
  url: string;
  port: number;
  /** The embedded TURN server's UDP and TCP port, when it runs. */
  turnPort?: number;
  /** Its TLS port, when it has a certificate. */
  turnTlsPort?: number;
  /** Everything the shard printed lately, for failure messages. */
  output(): string;
  /** undefined while it runs, else how it ended (exit code or signal). */
  exited(): string | undefined;
  /** Pids of the shard's child processes (its mediasoup workers). */
  children(): number[];
  /** The shard's own numbers from /metrics (series without labels). */
  metrics(): Promise<Record<string, number>>;
  /**
   * SIGTERM (or `signal`), then SIGKILL after a grace period. A shard of a cluster drains
   * on SIGTERM; SIGINT closes it at once.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface ShardProcessOptions {
  /** 0 (the default outside a namespace) lets the shard pick a free port. */
  port?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Run it as the first process of a new, loopback-only network namespace. */
  netns?: boolean;
  /** A command (and its arguments) the shard runs under, as `setpriv ... node ...`. */
  runUnder?: string[];
}

/** What `node dist/main.js` needs: the build (`npm run build`) and the mediasoup worker. */
const BUILT = [
  join(REPO_ROOT, 'dist/main.js'),
  join(REPO_ROOT, 'dist/public/app.js'),
  process.env.MEDIASOUP_WORKER_BIN ??
    join(REPO_ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker'),
];

interface LogLine {
  msg?: string;
  port?: number;
  tlsPort?: number;
}

export async function startShardProcess(options: ShardProcessOptions = {}): Promise<ShardProcess> {
  const missing = BUILT.filter((file) => !existsSync(file));
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: run "npm run build" (and scripts/mediasoup-worker.sh)`,
    );
  }
  // A private namespace has every port free.
  const requestedPort = options.port ?? (options.netns ? 8080 : 0);
  const shard = options.netns
    ? ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec node dist/main.js']
    : [process.execPath, 'dist/main.js'];
  const [command, ...args] = [...(options.runUnder ?? []), ...shard];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      // Test mode logs at warn; the readiness lines awaited below are logged at info.
      LOG_LEVEL: 'info',
      PORT: String(requestedPort),
      MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
      MEDIA_LISTEN_IP: '127.0.0.1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 1_000) lines.splice(0, 500);
  };
  const output = () => lines.slice(-200).join('\n');
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk.toString().trimEnd()));
  let ended: string | undefined;
  child.once('exit', (code, signal) => (ended = String(code ?? signal)));

  let port = requestedPort;
  let listening = false;
  let turnPort: number | undefined;
  let turnTlsPort: number | undefined;
  // The TURN server's line may come after the shard's (another logger): wait for both.
  const turnRuns = (options.env?.TURN_MODE ?? process.env.TURN_MODE ?? 'embedded') === 'embedded';
  const timeoutMs = options.timeoutMs ?? 15_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`the shard did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- shard output ---\n${output()}`));
    };
    child.once('error', fail);
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`the shard exited (${code ?? signal})`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const entry = parseLogLine(line);
      if (entry?.msg === 'TURN server listening') {
        turnPort = entry.port;
        turnTlsPort = entry.tlsPort;
      }
      if (entry?.msg === 'Video Window shard listening') {
        port = entry.port ?? port;
        listening = true;
      }
      if (listening && (turnPort !== undefined || !turnRuns)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', fail);
        resolve();
      }
    });
  });

  const url = `http://127.0.0.1:${port}`;
  return {
    pid: child.pid!,
    url,
    port,
    turnPort,
    turnTlsPort,
    output,
    exited: () => ended,
    children: () => childPids(child.pid!),
    metrics: () => readMetrics(url),
    stop: (signal) => stopProcess(child, signal),
  };
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/** Prometheus text to numbers, for series without labels (`name value`). */
export async function readMetrics(baseUrl: string): Promise<Record<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*) (\S+)$/i.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

function childPids(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  );
}

async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
