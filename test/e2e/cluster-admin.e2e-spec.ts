/**
 * The admin API, webhooks and rate limits of a cluster (three shards, HAProxy, Redis,
 * PostgreSQL): any shard lists every room and moderates rooms that run elsewhere, each
 * event is delivered once, and a login limit counts over all shards.
 */
import { createServer, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../src/webhooks/webhooks.service';
import { eventually, NodeParticipant } from '../support/node-participant';
import { joinThroughProxy, startCluster, TestCluster } from '../support/cluster';
import { errorCode } from '../support/signaling-client';

jest.setTimeout(120_000);

const ADMIN = { email: 'admin@example.com', password: 'cluster-admin-password' };
const SECRET = 'cluster-webhook-secret-0123456789';

/** A JSON request to `url` from the local address `from` (a client network on loopback). */
function call(
  url: string,
  method: string,
  options: { token?: string; body?: unknown; from?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpRequest(
      url,
      {
        method,
        localAddress: options.from,
        headers: {
          ...(payload && { 'content-type': 'application/json' }),
          ...(options.token && { authorization: `Bearer ${options.token}` }),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('cluster: admin API, webhooks and rate limits', () => {
  let cluster: TestCluster;
  let receiver: Server;
  const events: WebhookEvent[] = [];
  const open: NodeParticipant[] = [];
  let token: string;
  const shardUrl = (id: string) => cluster.shard(id).process!.url;

  beforeAll(async () => {
    receiver = createServer((req, response) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        events.push(JSON.parse(body) as WebhookEvent);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cluster = await startCluster({
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        WEBHOOK_URLS: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
        WEBHOOK_SECRET: SECRET,
        LOGIN_RATE_LIMIT_PER_MINUTE: '6',
      },
    });
    token = (await call(`${cluster.url}/api/v1/auth/login`, 'POST', { body: ADMIN })).body
      .accessToken;
  });
  afterAll(async () => {
    open.forEach((participant) => participant.close());
    await cluster?.stop();
    receiver?.close();
  });

  it('lists every room of the cluster from any shard, and moderates rooms that run elsewhere', async () => {
    const placed: Record<string, string> = {};
    for (const room of ['admin-a', 'admin-b', 'admin-c']) {
      const { participant, joined } = await joinThroughProxy(cluster.url, room, `In ${room}`);
      open.push(participant);
      placed[room] = joined.shard;
    }
    expect(new Set(Object.values(placed)).size).toBe(3);
    for (const { id } of cluster.shards) {
      const { status, body } = await call(`${shardUrl(id)}/api/v1/admin/rooms`, 'GET', { token });
      expect(status).toBe(200);
      const listed = Object.fromEntries(
        (body as { id: string; shard: string }[]).map((room) => [room.id, room.shard]),
      );
      expect(listed).toEqual(placed);
    }
    const shards = await call(`${cluster.url}/api/v1/admin/shards`, 'GET', { token });
    expect(shards.body.map((s: { id: string }) => s.id).sort()).toEqual([
      'shard1',
      'shard2',
      'shard3',
    ]);

    // Moderation asked of a shard that does not run the room.
    const elsewhere = (room: string) => cluster.shards.find(({ id }) => id !== placed[room])!.id;
    const roomUrl = (room: string) => `${shardUrl(elsewhere(room))}/api/v1/admin/rooms/${room}`;
    const details = await call(roomUrl('admin-a'), 'GET', { token });
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({ id: 'admin-a', shard: placed['admin-a'] });
    const [target] = details.body.participants as { id: string }[];

    expect((await call(`${roomUrl('admin-a')}/lock`, 'POST', { token })).status).toBe(204);
    const locked = await NodeParticipant.connect(cluster.url, {
      query: { shard: placed['admin-a'] },
    });
    open.push(locked);
    await expect(errorCode(locked.join('admin-a', 'Late'))).resolves.toBe('room_locked');
    expect((await call(`${roomUrl('admin-a')}/lock`, 'DELETE', { token })).status).toBe(204);

    const kicked = open[0];
    const removed = kicked.waitForEvent<{ reason: string }>('removed');
    const kick = await call(`${roomUrl('admin-a')}/participants/${target.id}/kick`, 'POST', {
      token,
    });
    expect(kick.status).toBe(204);
    await expect(removed).resolves.toEqual({ reason: 'kicked' });

    const ended = open[1].waitForEvent<{ reason: string }>('removed');
    expect((await call(roomUrl('admin-b'), 'DELETE', { token })).status).toBe(204);
    await expect(ended).resolves.toEqual({ reason: 'room_ended' });

    // Errors come back as the owner gave them, and rooms that run nowhere are 404 anywhere.
    const mute = await call(`${roomUrl('admin-c')}/participants/nobody/mute`, 'POST', {
      token,
      body: { kind: 'audio' },
    });
    expect(mute.status).toBe(404);
    expect(mute.body).toMatchObject({ statusCode: 404, error: 'not_found' });
    const nowhere = await call(`${shardUrl('shard1')}/api/v1/admin/rooms/no-such-room`, 'GET', {
      token,
    });
    expect(nowhere.status).toBe(404);
    expect((await call(roomUrl('admin-c'), 'GET')).status).toBe(401);
  });

  it('delivers each room and participant event once', async () => {
    const counts = (list: WebhookEvent[]) => {
      const seen: Record<string, number> = {};
      for (const e of list) {
        const key = `${e.event} ${e.room.name} ${e.participant?.displayName ?? ''}`;
        seen[key] = (seen[key] ?? 0) + 1;
      }
      return seen;
    };
    const expected = {
      'room_started admin-a ': 1,
      'room_started admin-b ': 1,
      'room_started admin-c ': 1,
      'participant_joined admin-a In admin-a': 1,
      'participant_joined admin-b In admin-b': 1,
      'participant_joined admin-c In admin-c': 1,
      'participant_left admin-a In admin-a': 1,
      'participant_left admin-b In admin-b': 1,
      'room_finished admin-a ': 1,
      'room_finished admin-b ': 1,
    };
    const seen = await eventually(
      () => counts(events.filter((e) => e.room.name.startsWith('admin-'))),
      (now) => Object.keys(expected).every((key) => now[key] === 1),
    );
    expect(seen).toEqual(expected);
  });

  it('counts a client’s logins over every shard', async () => {
    const wrong = { email: 'ghost@example.com', password: 'not-the-password' };
    const statuses: number[] = [];
    // Through the proxy, without a room: round robin over the three shards.
    for (let i = 0; i < 7; i++) {
      statuses.push(
        (await call(`${cluster.url}/api/v1/auth/login`, 'POST', { body: wrong, from: '127.4.0.1' }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);
    // Another client's budget is its own.
    const other = await call(`${cluster.url}/api/v1/auth/login`, 'POST', {
      body: { email: 'nobody@example.com', password: 'whatever-it-is' },
      from: '127.5.0.1',
    });
    expect(other.status).toBe(401);
  });
});
