/**
 * The cluster's shared state, one contract for both implementations: the in-process one
 * and the Redis one (the real Redis at 127.0.0.1:6379, each test under its own prefix).
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { LocalClusterBus } from '../../src/cluster/cluster-bus';
import { RedisClusterBus } from '../../src/cluster/redis/redis-cluster-bus';
import { RedisConnection } from '../../src/cluster/redis/redis-connection';
import { RedisRoomDirectory } from '../../src/cluster/redis/redis-room-directory';
import { RedisShardRegistry } from '../../src/cluster/redis/redis-shard-registry';
import { LocalRoomDirectory, RoomDirectory } from '../../src/cluster/room-directory';
import { NO_LOAD, ShardEntry } from '../../src/cluster/shard';
import { LocalShardRegistry, ShardRegistry } from '../../src/cluster/shard-registry';
import { eventually } from '../support/node-participant';
import { startShardProcess } from '../support/shard-process';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LEASE_MS = 400;
const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const shard = (id: string, region = 'eu'): ShardEntry => ({
  id,
  region,
  internalUrl: `http://127.0.0.1/${id}`,
  publicUrl: `http://127.0.0.1/${id}`,
  state: 'active',
  load: NO_LOAD,
  seenAt: Date.now(),
});

interface Implementation {
  /** Two views of one shared state, as two shards have. */
  make(): Promise<{ directories: RoomDirectory[]; registries: ShardRegistry[] }>;
}

const connections: RedisConnection[] = [];
afterAll(() => connections.forEach((connection) => connection.disconnect()));

async function redisConnection(prefix: string) {
  const connection = new RedisConnection(REDIS_URL, prefix, logger);
  connections.push(connection);
  await connection.connect();
  return connection;
}

const implementations: Record<string, Implementation> = {
  'in-process': {
    async make() {
      const directory = new LocalRoomDirectory(LEASE_MS);
      const registry = new LocalShardRegistry(LEASE_MS);
      return { directories: [directory, directory], registries: [registry, registry] };
    },
  },
  Redis: {
    async make() {
      const prefix = `test-${randomUUID()}`;
      const [a, b] = await Promise.all([redisConnection(prefix), redisConnection(prefix)]);
      return {
        directories: [new RedisRoomDirectory(a, LEASE_MS), new RedisRoomDirectory(b, LEASE_MS)],
        registries: [new RedisShardRegistry(a, LEASE_MS), new RedisShardRegistry(b, LEASE_MS)],
      };
    },
  },
};

describe.each(Object.keys(implementations))('cluster state (%s)', (name) => {
  const make = () => implementations[name].make();

  it('gives a room to exactly one of many concurrent claimants', async () => {
    const { directories } = await make();
    const claimants = Array.from({ length: 10 }, (_, i) => `shard-${i}`);
    const owners = await Promise.all(
      claimants.map((id, i) => directories[i % 2].claim('room-a', id)),
    );
    expect(new Set(owners).size).toBe(1);
    expect(claimants).toContain(owners[0]);
    expect(await directories[1].ownerOf('room-a')).toBe(owners[0]);
  });

  it('keeps a renewed lease and frees a lapsed one', async () => {
    const [a, b] = (await make()).directories;
    expect(await a.claim('kept', 'shard-a')).toBe('shard-a');
    expect(await a.claim('lapsed', 'shard-a')).toBe('shard-a');
    for (let i = 0; i < 4; i++) {
      await sleep(LEASE_MS / 2);
      expect(await a.renew('shard-a', ['kept'])).toEqual([]);
    }
    expect(await b.ownerOf('kept')).toBe('shard-a');
    expect(await b.ownerOf('lapsed')).toBeUndefined();
    expect(await b.claim('lapsed', 'shard-b')).toBe('shard-b');
  });

  it('keeps the table of a spanning room’s hosts, each with its participants', async () => {
    const [a, b] = (await make()).directories;
    expect(await b.hostsOf('wide')).toEqual({});
    await a.setHost('wide', 'shard-a', 0);
    await b.setHost('wide', 'shard-b', 3);
    await a.setHost('wide', 'shard-a', 2);
    expect(await b.hostsOf('wide')).toEqual({ 'shard-a': 2, 'shard-b': 3 });
    await b.removeHost('wide', 'shard-a');
    expect(await a.hostsOf('wide')).toEqual({ 'shard-b': 3 });
    await a.removeHost('wide', 'shard-b');
    expect(await b.hostsOf('wide')).toEqual({});
  });

  it('refuses a shard that claims, renews or releases a room it does not own', async () => {
    const [a, b] = (await make()).directories;
    await a.claim('owned', 'shard-a');
    expect(await b.claim('owned', 'shard-b')).toBe('shard-a');
    expect(await b.renew('shard-b', ['owned', 'fresh'])).toEqual(['owned']);
    expect(await a.ownerOf('fresh')).toBe('shard-b');
    await b.release('owned', 'shard-b');
    expect(await a.ownerOf('owned')).toBe('shard-a');
    await a.release('owned', 'shard-a');
    expect(await b.ownerOf('owned')).toBeUndefined();
  });

  it('hands a dead owner’s room to one heir, once', async () => {
    const [a, b] = (await make()).directories;
    await a.claim('orphan', 'dead');
    const heirs = await Promise.all([
      a.takeOver('orphan', 'dead', 'heir-1'),
      b.takeOver('orphan', 'dead', 'heir-2'),
    ]);
    expect(heirs[0]).toBe(heirs[1]);
    expect(await a.ownerOf('orphan')).toBe(heirs[0]);
    // A stale take-over (the owner it names is no longer the owner) changes nothing.
    expect(await b.takeOver('orphan', 'dead', 'heir-3')).toBe(heirs[0]);
  });

  it('lists the shards that announce themselves, and forgets silent ones', async () => {
    const [a, b] = (await make()).registries;
    // An announcement tells whether the registry knew the shard still.
    expect(await a.announce(shard('s1'))).toBe(false);
    expect(await a.announce(shard('s1'))).toBe(true);
    await b.announce({ ...shard('s2', 'us'), state: 'draining' });
    const both = await a.shards();
    expect(both.map((s) => [s.id, s.region, s.state]).sort()).toEqual([
      ['s1', 'eu', 'active'],
      ['s2', 'us', 'draining'],
    ]);
    for (let i = 0; i < 4; i++) {
      await sleep(LEASE_MS / 2);
      await a.announce(shard('s1'));
    }
    expect((await b.shards()).map((s) => s.id)).toEqual(['s1']);
    await a.withdraw('s1');
    expect(await b.shards()).toEqual([]);
    expect(await a.announce(shard('s1'))).toBe(false);
  });
});

describe('cluster bus', () => {
  it('delivers to one shard, to everyone else, and in the sender’s order', async () => {
    const prefix = `test-${randomUUID()}`;
    const buses = await Promise.all(
      ['s1', 's2', 's3'].map(async (id) => {
        const bus = new RedisClusterBus(await redisConnection(prefix), id, logger);
        await bus.listen();
        return bus;
      }),
    );
    const received: Record<string, [unknown, string][]> = { s1: [], s2: [], s3: [] };
    buses.forEach((bus, i) =>
      bus.subscribe('test', (payload, from) => received[`s${i + 1}`].push([payload, from])),
    );
    for (let n = 0; n < 20; n++) await buses[0].send('s2', 'test', n);
    await buses[2].broadcast('test', 'hello');
    await buses[0].send('s1', 'other-topic', 'nobody listens');

    await eventually(
      () => received.s2.length,
      (count) => count === 21,
    );
    expect(received.s2.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, n) => [n, 's1']));
    expect(received.s2[20]).toEqual(['hello', 's3']);
    expect(received.s1).toEqual([['hello', 's3']]);
    expect(received.s3).toEqual([]);
  });

  it('delivers to itself alone when the shard is alone', async () => {
    const bus = new LocalClusterBus('only');
    const received: unknown[] = [];
    bus.subscribe('test', (payload) => received.push(payload));
    await bus.send('only', 'test', 1);
    await bus.send('elsewhere', 'test', 2);
    await bus.broadcast('test', 3);
    await sleep(10);
    expect(received).toEqual([1]);
  });
});

describe('Redis unreachable', () => {
  it('fails to connect with an error that names the address, not the password', async () => {
    const connection = new RedisConnection('redis://:hunter2@127.0.0.1:1', 'test', logger);
    const error = await connection.connect().catch((e: Error) => e);
    expect(String(error)).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(String(error)).not.toContain('hunter2');
  });

  it('stops a shard at start-up with one line that says so', async () => {
    const failure = await startShardProcess({
      env: {
        REDIS_URL: 'redis://127.0.0.1:1',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      },
    }).catch((error: Error) => error.message);
    expect(failure).toMatch(/the shard exited \(1\)/);
    expect(failure).toMatch(
      /the shard could not start: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/? \(REDIS_URL\): connect ECONNREFUSED/,
    );
  });
});
