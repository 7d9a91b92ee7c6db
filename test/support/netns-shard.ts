/**
 * A real shard and a real Chromium in one private, loopback-only network namespace.
 *
 * The shard is started as `unshare -n sh -c 'ip link set lo up && exec node dist/main.js'`,
 * so its pid is the namespace's first process; Chromium is entered into the same namespace
 * with `nsenter -t <pid> -n`. Playwright drives Chromium over a pipe, so the test process
 * itself needs no network path to either of them.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  }, 30_000);
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
