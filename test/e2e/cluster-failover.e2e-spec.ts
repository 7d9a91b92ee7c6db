/**
 * A cluster losing and regaining shards, with real HAProxy, Redis and PostgreSQL: kill -9
 * of a room's shard, its return, and a drain. Clients behave as the web client does:
 * they reconnect through the proxy and follow the directory. Times are printed, not
 * asserted (bench/cluster.ts measures them).
 */
import { TestShard } from '../support/shard';
import { eventually } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import {
  joinThroughProxy,
  RejoiningParticipant,
  startCluster,
  TestCluster,
} from '../support/cluster';

jest.setTimeout(120_000);

const ADMIN = { email: 'admin@example.com', password: 'cluster-admin-password' };

/** A publisher and a receiver of one room, as rejoining clients. */
async function call(cluster: TestCluster, room: string) {
  const sender = new RejoiningParticipant(cluster.url, room, 'Sender');
  await sender.join();
  await sender.publish(['audio']);
  const receiver = new RejoiningParticipant(cluster.url, room, 'Receiver');
  await receiver.join();
  await receivesFrom(receiver, sender);
  return { sender, receiver };
}

/** Waits until `receiver` gets media from `sender`'s current participant; false if never. */
async function receivesFrom(receiver: RejoiningParticipant, sender: RejoiningParticipant) {
  const packets = await eventually(
    () => receiver.packetsFrom(sender),
    (count) => count > 20,
    15_000,
  );
  return packets > 20;
}

describe('cluster: failover, return and drain', () => {
  let cluster: TestCluster;
  const clients: { close(): void }[] = [];
  const keep = <T extends { close(): void }>(client: T) => (clients.push(client), client);

  beforeAll(async () => {
    cluster = await startCluster({
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        DRAIN_TIMEOUT_SECONDS: '5',
      },
    });
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await cluster?.stop();
  });

  it('brings a killed shard’s room back together on one live shard, which keeps it when the shard returns', async () => {
    const { sender, receiver } = await call(cluster, 'failover-room');
    [sender, receiver].forEach(keep);
    const dead = sender.shard;
    expect(receiver.shard).toBe(dead);

    const killedAt = Date.now();
    cluster.kill(dead);
    await eventually(
      () => [sender.shard, receiver.shard],
      (shards) => shards.every((shard) => shard !== dead),
      15_000,
    );
    expect(sender.shard).toBe(receiver.shard);
    expect(await receivesFrom(receiver, sender)).toBe(true);
    const heir = sender.shard;
    console.log(`failover: media back ${Date.now() - killedAt} ms after kill -9 of ${dead}`);

    // The dead shard returns; newcomers, whatever HAProxy picks, join the heir's room.
    await cluster.restart(dead);
    await eventually(
      () => cluster.serverStates(),
      (states) => states[dead] === 'UP',
    );
    for (const query of [{}, { shard: dead }] as Record<string, string>[]) {
      const newcomer = await joinThroughProxy(cluster.url, 'failover-room', 'Late', { query });
      keep(newcomer.participant);
      expect(newcomer.joined.shard).toBe(heir);
    }
    expect(sender.shard).toBe(heir);
    expect(receiver.shard).toBe(heir);
  });

  it('drains a shard: no new rooms, its room stays joinable, then everyone moves and it exits', async () => {
    const { sender, receiver } = await call(cluster, 'drained-room');
    [sender, receiver].forEach(keep);
    const draining = sender.shard;
    const api = portalApi(() => ({ baseUrl: cluster.shard(draining).process!.url }) as TestShard);
    const { body: login } = await api.login(ADMIN);
    expect((await api.call('POST', '/admin/shard/drain')).status).toBe(401);
    const answer = await api.call('POST', '/admin/shard/drain', undefined, login.accessToken);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ state: 'draining', rooms: 1 });

    // HAProxy hears of it from the agent check.
    const states = await eventually(
      () => cluster.serverStates(),
      (s) => s[draining] === 'DRAIN (agent)',
    );
    expect(states[draining]).toBe('DRAIN (agent)');
    // A new room is placed elsewhere, even when the client asks for the draining shard.
    const fresh = await joinThroughProxy(cluster.url, 'after-drain', 'New', {
      query: { shard: draining },
    });
    keep(fresh.participant);
    expect(fresh.joined.shard).not.toBe(draining);
    // The live room stays joinable there.
    const late = await joinThroughProxy(cluster.url, 'drained-room', 'Late');
    keep(late.participant);
    expect(late.joined.shard).toBe(draining);

    // At the deadline everyone is told to move; they come together elsewhere.
    await eventually(
      () => [sender.shard, receiver.shard],
      (shards) => shards.every((shard) => shard !== draining),
      15_000,
    );
    expect(sender.shard).toBe(receiver.shard);
    expect(await receivesFrom(receiver, sender)).toBe(true);
    const movedAt = receiver.interruptions.at(-1)!;
    console.log(`drain: media back ${Date.now() - movedAt} ms after the move to another shard`);
    const exited = await eventually(
      () => cluster.shard(draining).process!.exited(),
      (code) => code !== undefined,
      10_000,
    );
    expect(exited).toBe('0');
  });

  it('drains on SIGTERM: a shard that runs a room keeps it, and exits once it has none', async () => {
    const solo = await joinThroughProxy(cluster.url, 'sigterm-room', 'Solo');
    keep(solo.participant);
    const shard = cluster.shard(solo.joined.shard).process!;
    process.kill(shard.pid, 'SIGTERM');
    const states = await eventually(
      () => cluster.serverStates(),
      (s) => s[solo.joined.shard] === 'DRAIN (agent)',
    );
    expect(states[solo.joined.shard]).toBe('DRAIN (agent)');
    expect(shard.exited()).toBeUndefined();
    // The last participant leaves; the room closes after its grace period, then the shard.
    await solo.participant.request('leave', {});
    const exited = await eventually(
      () => shard.exited(),
      (code) => code !== undefined,
      10_000,
    );
    expect(exited).toBe('0');
  });
});
