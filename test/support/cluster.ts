/**
 * A real cluster on loopback: shard processes (the built dist/main.js) sharing the real
 * Redis and a fresh PostgreSQL schema, behind a real HAProxy running the shipped
 * haproxy.cfg (its server addresses, ports and paths rewritten for this run).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JoinResult } from '../../src/signaling/socketio/protocol';
import { eventually, NodeParticipant } from './node-participant';
import type { Socket } from 'socket.io-client';
import { ConnectOptions, connectSocket, request, RequestError } from './signaling-client';
import { REPO_ROOT, ShardProcess, startShardProcess } from './shard-process';
import { TEST_DATABASES } from './test-databases';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ClusterShard {
  id: string;
  region: string;
  port: number;
  agentPort: number;
  /** The running process; undefined while the shard is down. */
  process?: ShardProcess;
}

export interface TestCluster {
  /** The proxy's URL: what clients use. */
  url: string;
  shards: ClusterShard[];
  shard(id: string): ClusterShard;
  /** The Redis key prefix of this cluster (CLUSTER_NAME). */
  name: string;
  /** What the shards share: their environment (REDIS_URL, DATABASE_URL, ...). */
  env: Record<string, string>;
  /** kill -9 of the shard's process (its media workers follow). */
  kill(id: string): void;
  /** Starts the shard again, with its id and ports. */
  restart(id: string): Promise<void>;
  /** HAProxy's view of each server: 'UP', 'DOWN', 'DRAIN', ... */
  serverStates(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** The shards' regions, one per shard (default: three in "default"). */
  regions?: string[];
  /** Environment for every shard. */
  env?: Record<string, string>;
  /** Environment of one shard (its own recordings directory, ...), over `env`. */
  shardEnv?: (shard: ClusterShard) => Record<string, string>;
  /** Lines of the HAProxy regions map (network and region), replacing the shipped one. */
  regionMap?: string;
}

/** Free TCP ports on 127.0.0.1 (taken and released at once: good enough on loopback). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const regions = options.regions ?? ['default', 'default', 'default'];
  const ports = await freePorts(regions.length * 2 + 1);
  const proxyPort = ports.pop()!;
  const shards: ClusterShard[] = regions.map((region, i) => ({
    id: `shard${i + 1}`,
    region,
    port: ports[i * 2],
    agentPort: ports[i * 2 + 1],
  }));
  const database = await TEST_DATABASES.find((kind) => kind.name === 'PostgreSQL')!.create();
  const name = `test-${randomUUID().slice(0, 8)}`;
  const env = {
    REDIS_URL,
    CLUSTER_NAME: name,
    TRUST_PROXY: 'loopback',
    ...database.env,
    ...options.env,
  };
  const shardEnv = (shard: ClusterShard) => ({
    ...env,
    SHARD_ID: shard.id,
    REGION: shard.region,
    AGENT_PORT: String(shard.agentPort),
    SHARD_INTERNAL_URL: `http://127.0.0.1:${shard.port}`,
    ...options.shardEnv?.(shard),
  });
  const start = async (shard: ClusterShard) => {
    shard.process = await startShardProcess({ port: shard.port, env: shardEnv(shard) });
  };
  // The first shard creates the database schema; the others find it made.
  await start(shards[0]);
  await Promise.all(shards.slice(1).map(start));

  const dir = mkdtempSync(join(tmpdir(), 'vw-haproxy-'));
  const proxy = startHaproxy(dir, proxyPort, shards, options.regionMap);
  const cluster: TestCluster = {
    url: `http://127.0.0.1:${proxyPort}`,
    shards,
    name,
    env,
    shard: (id) => shards.find((shard) => shard.id === id)!,
    kill(id) {
      const { process: running } = cluster.shard(id);
      if (running) globalThis.process.kill(running.pid, 'SIGKILL');
      cluster.shard(id).process = undefined;
    },
    restart: (id) => start(cluster.shard(id)),
    serverStates: () => proxy.serverStates(),
    async stop() {
      await proxy.stop();
      await Promise.all(shards.map((shard) => shard.process?.stop('SIGINT')));
      await database.drop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const up = await eventually(
      () => cluster.serverStates(),
      (states) => shards.every((shard) => states[shard.id] === 'UP'),
      15_000,
    );
    if (!shards.every((shard) => up[shard.id] === 'UP')) {
      throw new Error(
        `HAProxy does not see every shard up: ${JSON.stringify(up)}\n${proxy.output()}`,
      );
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

interface Haproxy {
  serverStates(): Promise<Record<string, string>>;
  output(): string;
  stop(): Promise<void>;
}

/** The shipped haproxy.cfg with this run's ports, servers, map and socket. */
function haproxyConfig(dir: string, proxyPort: number, shards: ClusterShard[], regionMap?: string) {
  const shipped = readFileSync(join(REPO_ROOT, 'haproxy.cfg'), 'utf8');
  const map = join(dir, 'regions.map');
  writeFileSync(
    map,
    regionMap ?? readFileSync(join(REPO_ROOT, 'config', 'haproxy', 'regions.map'), 'utf8'),
  );
  const servers = shards
    .map((shard) => `  server ${shard.id} 127.0.0.1:${shard.port} agent-port ${shard.agentPort}`)
    .join('\n');
  return shipped
    .replace(/^ {2}server .*\n?/gm, '')
    .replace(/^ {2}bind :\d+$/m, `  bind 127.0.0.1:${proxyPort}`)
    .replace('/etc/haproxy/regions.map', map)
    .replace('/run/haproxy/admin.sock', join(dir, 'admin.sock'))
    .trimEnd()
    .concat(`\n${servers}\n`);
}

function startHaproxy(
  dir: string,
  proxyPort: number,
  shards: ClusterShard[],
  regionMap?: string,
): Haproxy {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(dir, proxyPort, shards, regionMap));
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().trimEnd().split('\n'));
    if (lines.length > 500) lines.splice(0, 250);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    output: () => lines.slice(-100).join('\n'),
    serverStates: () => haproxyServerStates(join(dir, 'admin.sock')),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `show stat` over the admin socket: each server of the backend and its status. */
function haproxyServerStates(socketPath: string): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    const socket = createConnection(socketPath);
    let text = '';
    socket.on('connect', () => socket.write('show stat\n'));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', () => resolve({}));
    socket.on('end', () => {
      const states: Record<string, string> = {};
      for (const line of text.split('\n')) {
        const [proxyName, serverName, ...fields] = line.split(',');
        if (proxyName !== 'shards' || !serverName || serverName === 'BACKEND') continue;
        states[serverName] = fields[15]; // the 18th column: status
      }
      resolve(states);
    });
  });
}

/**
 * Joins a room through the proxy as the web client does: connected with `?room=`, and
 * following `wrong_shard` answers to the room's shard (`?shard=`), at most `maxMoves`.
 */
export function joinThroughProxy(
  url: string,
  room: string,
  displayName: string,
  options: JoinOptions = {},
): Promise<{ participant: NodeParticipant; joined: JoinResult; moves: number }> {
  return followingRedirects(room, options, async (query) => {
    const participant = await NodeParticipant.connect(url, { ...options, query });
    return { client: participant, joined: () => participant.join(room, displayName) };
  }).then(({ client, joined, moves }) => ({ participant: client, joined, moves }));
}

/** The same with signaling alone (a socket.io connection, no media stack). */
export function signalingJoinThroughProxy(
  url: string,
  room: string,
  displayName: string,
  options: JoinOptions = {},
): Promise<{ socket: Socket; joined: JoinResult; moves: number }> {
  return followingRedirects(room, options, async (query) => {
    const socket = await connectSocket(url, { ...options, query });
    const joined = async () => {
      const answer = await request(socket, 'join', { room, displayName });
      if (!('lobby' in answer)) return answer;
      if (!options.waitInLobby) throw new Error('in the lobby (waitInLobby not set)');
      return new Promise<JoinResult>((resolve, reject) => {
        socket.once('admitted', resolve);
        socket.once('rejected', ({ reason }: { reason: string }) =>
          reject(new Error(`turned away from the lobby: ${reason}`)),
        );
      });
    };
    return { client: socket, joined };
  }).then(({ client, joined, moves }) => ({ socket: client, joined, moves }));
}

type JoinOptions = ConnectOptions & {
  maxMoves?: number;
  roomInQuery?: boolean;
  /** Wait in the room's lobby until admitted (rejects when turned away). */
  waitInLobby?: boolean;
};

async function followingRedirects<C extends { close(): unknown }>(
  room: string,
  options: JoinOptions,
  connect: (
    query: Record<string, string>,
  ) => Promise<{ client: C; joined: () => Promise<JoinResult> }>,
): Promise<{ client: C; joined: JoinResult; moves: number }> {
  const query: Record<string, string> = { ...options.query };
  if (options.roomInQuery ?? true) query.room = room;
  for (let moves = 0; ; moves++) {
    const { client, joined } = await connect(query);
    try {
      return { client, joined: await joined(), moves };
    } catch (error) {
      client.close();
      const redirected = error instanceof RequestError && error.code === 'wrong_shard';
      if (!redirected || moves >= (options.maxMoves ?? 3)) throw error;
      query.shard = error.shard!;
    }
  }
}

/**
 * A participant that behaves as the web client does when its shard goes away: when its
 * connection drops or it is told to rejoin, it joins again through the proxy (following
 * redirects) and publishes what it published before.
 */
export class RejoiningParticipant {
  current!: { participant: NodeParticipant; joined: JoinResult };
  /** Each time it (re)joined: when, and on which shard. */
  readonly joins: { at: number; shard: string }[] = [];
  /** When it lost its room (its connection dropped, or it was told to rejoin). */
  readonly interruptions: number[] = [];
  private publishing: ('audio' | 'video')[] = [];
  private closed = false;
  private rejoining?: Promise<void>;
  private stopListening = () => {};

  constructor(
    private readonly url: string,
    readonly room: string,
    readonly displayName: string,
    private readonly options: ConnectOptions = {},
  ) {}

  get participantId(): string {
    return this.current.joined.participantId;
  }

  get shard(): string {
    return this.current.joined.shard;
  }

  async join(): Promise<void> {
    const joined = await joinThroughProxy(this.url, this.room, this.displayName, {
      ...this.options,
      // Back to the shard it was on, as socket.io's reconnection does.
      query: this.current ? { ...this.options.query, shard: this.shard } : this.options.query,
    });
    this.current = joined;
    this.joins.push({ at: Date.now(), shard: joined.joined.shard });
    if (this.publishing.length) await joined.participant.publish(this.publishing);
    const { socket } = joined.participant;
    const again = () => void this.rejoin();
    socket.once('disconnect', again);
    socket.once('rejoin', again);
    this.stopListening = () => {
      socket.off('disconnect', again);
      socket.off('rejoin', again);
    };
  }

  async publish(kinds: ('audio' | 'video')[]): Promise<void> {
    this.publishing = kinds;
    await this.current.participant.publish(kinds);
  }

  /** Packets received from `sender` (its current participant) since its current join. */
  async packetsFrom(sender: RejoiningParticipant): Promise<number> {
    const stats = await this.current.participant.receiveStats().catch(() => ({}));
    const from = (stats as Record<string, { audioPackets: number; videoPackets: number }>)[
      sender.participantId
    ];
    return (from?.audioPackets ?? 0) + (from?.videoPackets ?? 0);
  }

  close(): void {
    this.closed = true;
    this.stopListening();
    this.current?.participant.close();
  }

  /** Retries every 200 ms (the shard may still be dead, the directory stale). */
  private rejoin(): Promise<void> {
    this.interruptions.push(Date.now());
    this.stopListening();
    this.rejoining ??= (async () => {
      this.current.participant.close();
      for (let attempt = 0; !this.closed && attempt < 50; attempt++) {
        try {
          await this.join();
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })().finally(() => (this.rejoining = undefined));
    return this.rejoining;
  }
}
