/**
 * A real shard and a real Chromium in one private, loopback-only network namespace.
 *
 * The shard is started as `unshare -n sh -c 'ip link set lo up && exec node dist/main.js'`,
 * so its pid is the namespace's first process; Chromium is entered into the same namespace
 * with `nsenter -t <pid> -n`. Playwright drives Chromium over a pipe, so the test process
 * itself needs no network path to either of them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Browser, chromium } from 'playwright-core';

export const REPO_ROOT = join(__dirname, '..', '..');
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

export interface NetnsShard {
  /** Pid of the shard's node process, which owns the namespace. */
  pid: number;
  /** Base URL as seen from inside the namespace. */
  url: string;
  /** Everything the shard printed, for failure messages. */
  output(): string;
  /** Pids of the shard's child processes (its mediasoup workers). */
  children(): number[];
  stop(): Promise<void>;
}

export interface StartShardOptions {
  port?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts dist/main.js in a new network namespace and waits until it listens. */
/** What `node dist/main.js` needs: the build (`npm run build`) and the mediasoup worker. */
const BUILT = [
  join(REPO_ROOT, 'dist/main.js'),
  join(REPO_ROOT, 'dist/public/app.js'),
  process.env.MEDIASOUP_WORKER_BIN ??
    join(REPO_ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker'),
];

export async function startShardInNetns(options: StartShardOptions = {}): Promise<NetnsShard> {
  const missing = BUILT.filter((file) => !existsSync(file));
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: run "npm run build" (and scripts/mediasoup-worker.sh)`,
    );
  }
  const port = options.port ?? 8080; // the namespace is private: any port is free
  const child = spawn(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && exec node dist/main.js'],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        // Test mode logs at warn; the readiness line awaited below is logged at info.
        LOG_LEVEL: 'info',
        PORT: String(port),
        MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
        MEDIA_LISTEN_IP: '127.0.0.1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 1_000) lines.splice(0, 500);
  };
  const output = () => lines.slice(-200).join('\n');
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk.toString().trimEnd()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`the shard did not start within ${options.timeoutMs ?? 15_000} ms`));
    }, options.timeoutMs ?? 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- shard output ---\n${output()}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`the shard exited (${code ?? signal})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (line.includes('Video Window shard listening')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve();
      }
    });
  });

  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    output,
    children: () => childPids(child.pid!),
    stop: () => stopProcess(child),
  };
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

async function stopProcess(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface NetnsBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches Chromium inside the network namespace of process `pid`. */
export async function launchChromiumInNetns(
  pid: number,
  extraArgs: string[] = [],
): Promise<NetnsBrowser> {
  const dir = await mkdtemp(join(tmpdir(), 'vw-chromium-'));
  const wrapper = join(dir, 'chromium-in-netns');
  await writeFile(wrapper, `#!/bin/sh\nexec nsenter -t ${pid} -n ${CHROMIUM_PATH} "$@"\n`);
  await chmod(wrapper, 0o755);
  try {
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: [...CHROMIUM_FLAGS, ...extraArgs],
      headless: true,
      timeout: 20_000,
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
