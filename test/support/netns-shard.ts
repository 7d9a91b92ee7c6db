/**
 * A real shard and a real Chromium in one private, loopback-only network namespace.
 *
 * The shard is started as `unshare -n sh -c 'ip link set lo up && exec node dist/main.js'`,
 * so its pid is the namespace's first process; Chromium is entered into the same namespace
 * with `nsenter -t <pid> -n`. Playwright drives Chromium over a pipe, so the test process
 * itself needs no network path to either of them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ShardProcess, startShardProcess } from './shard-process';

export { REPO_ROOT } from './shard-process';
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

export type NetnsShard = ShardProcess;

export interface StartShardOptions {
  port?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts dist/main.js in a new network namespace and waits until it listens. */
export function startShardInNetns(options: StartShardOptions = {}): Promise<NetnsShard> {
  return startShardProcess({ ...options, netns: true });
}

const run = promisify(execFile);

/** Runs a command (ip, ss) in the network namespace of process `pid`. */
export function inNetns(pid: number, ...command: string[]) {
  return run('nsenter', ['-t', String(pid), '-n', ...command]);
}

/**
 * The shard's address on the link to the roaming clients (see roamingClients), and the
 * environment that makes the shard serve and announce it.
 */
export const ROAMING_SHARD_ADDRESS = '10.9.0.1';
export const ROAMING_SHARD_ENV = {
  HOST: '0.0.0.0',
  MEDIA_LISTEN_IP: '0.0.0.0',
  MEDIA_ANNOUNCED_ADDRESS: ROAMING_SHARD_ADDRESS,
};

export interface RoamingClients {
  /** The shard as the clients reach it. */
  url: string;
  /** The namespace's process (for launchChromiumInNetns). */
  pid: number;
  /** Chromium in the clients' namespace (the shard's origin counts as secure). */
  launchChromium(extraArgs?: string[]): Promise<NetnsBrowser>;
  /** The clients' address becomes 10.7.0.<n>, as when a phone goes from Wi-Fi to LTE. */
  moveTo(n: number): Promise<void>;
  /** Takes the link between clients and shard down (false) or up again (true). */
  setLink(up: boolean): Promise<void>;
  close(): Promise<void>;
}

/**
 * A network namespace for clients beside the shard's (started with ROAMING_SHARD_ENV),
 * joined to it by a veth pair: the shard is ROAMING_SHARD_ADDRESS, the clients 10.7.0.1
 * until they move to another address.
 */
export async function roamingClients(shard: NetnsShard): Promise<RoamingClients> {
  const holder: ChildProcess = spawn('unshare', ['-n', 'sleep', 'infinity'], { stdio: 'ignore' });
  await once(holder, 'spawn');
  const pid = holder.pid!;
  const clients = (...command: string[]) => inNetns(pid, ...command);
  const server = (...command: string[]) => inNetns(shard.pid, ...command);
  try {
    // unshare has exec'd sleep once the namespace is there: wait for it.
    for (let tries = 0; ; tries++) {
      const [own, first] = await Promise.all(
        [pid, process.pid].map((p) => run('readlink', [`/proc/${p}/ns/net`])),
      );
      if (own.stdout !== first.stdout) break;
      if (tries > 50) throw new Error('the clients namespace did not come up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server('ip', 'link', 'add', 'to-clients', 'type', 'veth', 'peer', 'name', 'to-shard');
    await server('ip', 'link', 'set', 'to-shard', 'netns', String(pid));
    await server('ip', 'addr', 'add', `${ROAMING_SHARD_ADDRESS}/24`, 'dev', 'to-clients');
    await server('ip', 'link', 'set', 'to-clients', 'up');
    await server('ip', 'route', 'add', '10.7.0.0/24', 'dev', 'to-clients');
    await clients('ip', 'link', 'set', 'lo', 'up');
    await clients('ip', 'addr', 'add', '10.7.0.1/24', 'dev', 'to-shard');
    await clients('ip', 'link', 'set', 'to-shard', 'up');
    await clients('ip', 'route', 'add', '10.9.0.0/24', 'dev', 'to-shard');
  } catch (error) {
    holder.kill();
    throw error;
  }
  const url = `http://${ROAMING_SHARD_ADDRESS}:${shard.port}`;
  return {
    url,
    pid,
    launchChromium: (extraArgs = []) =>
      launchChromiumInNetns(pid, [
        `--unsafely-treat-insecure-origin-as-secure=${url}`,
        ...extraArgs,
      ]),
    moveTo: async (n) => {
      await clients('ip', 'addr', 'flush', 'dev', 'to-shard');
      await clients('ip', 'addr', 'add', `10.7.0.${n}/24`, 'dev', 'to-shard');
      await clients('ip', 'route', 'replace', '10.9.0.0/24', 'dev', 'to-shard');
    },
    setLink: async (up) => {
      await server('ip', 'link', 'set', 'to-clients', up ? 'up' : 'down');
      if (up) await server('ip', 'route', 'replace', '10.7.0.0/24', 'dev', 'to-clients');
    },
    close: async () => {
      holder.kill();
    },
  };
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

export interface ShardWithChromium {
  /** The shard (its namespace holds Chromium), once the describe block's beforeAll ran. */
  readonly shard: NetnsShard;
  /** Uncaught errors of the pages opened with newPage, as "<name>: <message>". */
  readonly pageErrors: string[];
  /** A page in a context of its own, its uncaught errors kept under `name`. */
  newPage(name: string, viewport?: { width: number; height: number }): Promise<Page>;
}

/**
 * A describe block's shard in its own network namespace and Chromium inside it, started
 * before its tests and stopped after them.
 */
export function useShardWithChromium(
  options: StartShardOptions & { chromiumArgs?: string[] } = {},
): ShardWithChromium {
  let shard: NetnsShard | undefined;
  let netnsBrowser: NetnsBrowser | undefined;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    shard = await startShardInNetns(options);
    netnsBrowser = await launchChromiumInNetns(shard.pid, options.chromiumArgs);
  }, 90_000);
  afterAll(async () => {
    await netnsBrowser?.close().catch(() => undefined);
    await shard?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (!value) throw new Error('the shard and Chromium start in beforeAll');
    return value;
  };
  return {
    get shard() {
      return started(shard);
    },
    pageErrors,
    async newPage(name, viewport) {
      const context = await started(netnsBrowser).browser.newContext({ viewport });
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
      return page;
    },
  };
}
