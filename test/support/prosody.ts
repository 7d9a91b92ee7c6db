/**
 * Prosody 0.12 (apt), the reference XMPP server, started from a generated configuration
 * in a temporary directory: loopback only, random ports, XMPP over WebSocket
 * (mod_websocket), Stream Management, offline messages, and a MUC component at
 * conference.<domain> with room locking off. Accounts are created with prosodyctl.
 * (Never `prosody --version`: it starts a server on the default ports.)
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface ProsodyServer {
  domain: string;
  /** ws:// URL of /xmpp-websocket. */
  websocketUrl: string;
  /** Creates an account (internal_plain storage). */
  register(username: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ProsodyOptions {
  domain?: string;
  /** Lua appended to the global section (before the VirtualHost). */
  extraConfig?: string;
  /** Load mod_smacks (XEP-0198); default true. */
  streamManagement?: boolean;
}

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url: string, process: ChildProcess, log: () => string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (process.exitCode !== null) throw new Error(`prosody exited: ${log()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`prosody did not start: ${log()}`);
}

export async function startProsody(options: ProsodyOptions = {}): Promise<ProsodyServer> {
  const domain = options.domain ?? 'localhost';
  const dir = mkdtempSync(join(tmpdir(), 'prosody-'));
  const [c2sPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'prosody.cfg.lua');
  writeFileSync(
    config,
    `
run_as_root = true
data_path = ${JSON.stringify(join(dir, 'data'))}
plugin_paths = {}
admins = {}
log = { warn = ${JSON.stringify(join(dir, 'prosody.log'))}; error = ${JSON.stringify(join(dir, 'prosody.log'))} }
modules_enabled = { "roster", "saslauth", "disco", "ping", "websocket", "offline"${options.streamManagement === false ? '' : ', "smacks"'} }
modules_disabled = { "s2s", "s2s_auth_certs", "tls" }
interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
c2s_direct_tls_ports = {}
s2s_ports = {}
component_ports = {}
http_ports = { ${httpPort} }
http_interfaces = { "127.0.0.1" }
https_ports = {}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
authentication = "internal_plain"
storage = "internal"
muc_room_locking = false
${options.extraConfig ?? ''}
VirtualHost ${JSON.stringify(domain)}
Component ${JSON.stringify(`conference.${domain}`)} "muc"
  muc_room_locking = false
`,
  );
  const prosody = spawn('prosody', ['--config', config, '-F'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  prosody.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  prosody.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => prosody.once('exit', () => resolve()));
  try {
    await waitForHttp(`http://127.0.0.1:${httpPort}/`, prosody, () => output);
  } catch (error) {
    prosody.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    domain,
    websocketUrl: `ws://127.0.0.1:${httpPort}/xmpp-websocket`,
    register: async (username, password) => {
      await run('prosodyctl', ['--config', config, 'register', username, domain, password], {
        cwd: dir,
      });
    },
    stop: async () => {
      prosody.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (prosody.exitCode === null) prosody.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
