/**
 * The admin API run against a live call of real clients (mediasoup-client over wrtc):
 * rooms with tracks and bitrates, mute seen by the muted client and the others, lock,
 * kick and ending a room.
 */
import { eventually, NodeParticipant } from '../support/node-participant';
import { RequestError } from '../support/signaling-client';
import { apiKeyAuthorization, portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

type Room = {
  id: string;
  locked: boolean;
  participants: {
    id: string;
    displayName: string;
    role: string;
    tracks: { id: string; kind: string; paused: boolean; bitrate: number }[];
  }[];
};

describe('moderation through the admin API, seen by real clients', () => {
  let shard: TestShard;
  const http = portalApi(() => shard);
  let authorization: string;
  const clients: NodeParticipant[] = [];

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${shard.baseUrl}/api/v1/admin${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: response.status, body: text ? JSON.parse(text) : ({} as any) };
  };
  const room = async (id: string): Promise<Room> => (await admin('GET', `/rooms/${id}`)).body;
  const connect = async (token?: string) => {
    const client = await NodeParticipant.connect(shard.baseUrl, { token });
    clients.push(client);
    return client;
  };
  const participant = async (roomId: string, name: string) => {
    const client = await connect();
    await client.join(roomId, name);
    await client.publish();
    return client;
  };
  const joinError = (client: NodeParticipant, roomId: string) =>
    client.request('join', { room: roomId }).then(
      () => 'joined',
      (error: RequestError) => error.code,
    );

  beforeAll(async () => {
    shard = await startShard({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const adminToken = (await http.login(ADMIN)).body.accessToken;
    const key = await http.call('POST', '/admin/api-keys', { name: 'moderator bot' }, adminToken);
    authorization = apiKeyAuthorization(key.body.keyId, key.body.secret);
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard.close();
  });

  it('lists live rooms with participants, tracks and bitrates, and shard info', async () => {
    const [a, b] = [await participant('listed', 'A'), await participant('listed', 'B')];
    const ids = [a, b].map((client) => client.joined.participantId);
    const listed = await admin('GET', '/rooms');
    expect(listed.status).toBe(200);
    const entry: Room = listed.body.find((r: Room) => r.id === 'listed');
    expect(entry.locked).toBe(false);
    expect(entry.participants.map((p) => [p.id, p.displayName, p.role])).toEqual([
      [ids[0], 'A', 'guest'],
      [ids[1], 'B', 'guest'],
    ]);
    for (const p of entry.participants) {
      expect(p.tracks.map((t) => [t.kind, t.paused]).sort()).toEqual([
        ['audio', false],
        ['video', false],
      ]);
    }
    // mediasoup measures what arrives: every track ends up with a bitrate.
    const measured = await eventually(
      () => room('listed'),
      (r) => r.participants.every((p) => p.tracks.every((t) => t.bitrate > 0)),
    );
    expect(measured.participants.flatMap((p) => p.tracks).every((t) => t.bitrate > 0)).toBe(true);

    const shardInfo = await admin('GET', '/shard');
    expect(shardInfo.status).toBe(200);
    expect(shardInfo.body).toMatchObject({
      mode: 'test',
      rooms: 1,
      participants: 2,
      media: { rooms: 1, peers: 2, producers: 4 },
    });
    expect((await admin('GET', '/rooms/nowhere')).status).toBe(404);
    expect((await admin('GET', '/rooms/nowhere')).body).toEqual({
      statusCode: 404,
      error: 'not_found',
      message: 'no live room nowhere',
    });
  });

  it('mutes a participant: its producer pauses, it is told and the others see it', async () => {
    const [a, b] = [await participant('muting', 'A'), await participant('muting', 'B')];
    const target = b.joined.participantId;
    const audioProducer = b.producers.get('audio')!;
    const muted = await admin('POST', `/rooms/muting/participants/${target}/mute`, {
      kind: 'audio',
    });
    expect(muted.status).toBe(200);
    expect(muted.body).toEqual({ producerIds: [audioProducer.id] });

    expect(await b.waitForEvent('muted')).toEqual({
      kind: 'audio',
      producerIds: [audioProducer.id],
    });
    const seen = await a.waitForEvent<{ id: string; paused: boolean }>('producerPaused');
    expect(seen).toMatchObject({ id: audioProducer.id, participantId: target, paused: true });
    const detail = await room('muting');
    const tracks = detail.participants.find((p) => p.id === target)!.tracks;
    expect(tracks.map((t) => [t.kind, t.paused]).sort()).toEqual([
      ['audio', true],
      ['video', false],
    ]);
    // A's consumer of B's audio is paused by its producer.
    const consumer = [...a.consumers.values()].find((c) => c.producerId === audioProducer.id);
    expect(
      await a.waitForEvent(
        'consumerPaused',
        (e: { consumerId: string }) => e.consumerId === consumer!.id,
      ),
    ).toBeTruthy();

    // Muting again finds nothing left to pause; unknown participants are 404.
    expect(
      (await admin('POST', `/rooms/muting/participants/${target}/mute`, { kind: 'audio' })).body,
    ).toEqual({
      producerIds: [],
    });
    expect(
      (await admin('POST', '/rooms/muting/participants/nobody/mute', { kind: 'audio' })).status,
    ).toBe(404);
  });

  it('locks a room for everyone but moderators, and unlocks it', async () => {
    await participant('locked', 'A');
    expect((await admin('POST', '/rooms/locked/lock')).status).toBe(204);
    expect((await room('locked')).locked).toBe(true);

    const guest = await connect();
    expect(await joinError(guest, 'locked')).toBe('room_locked');
    const minted = await admin('POST', '/join-tokens', {
      room: 'locked',
      identity: 'host-1',
      name: 'Host',
      role: 'moderator',
    });
    const host = await connect(minted.body.token);
    expect(await joinError(host, 'locked')).toBe('joined');

    expect((await admin('DELETE', '/rooms/locked/lock')).status).toBe(204);
    expect(await joinError(guest, 'locked')).toBe('joined');
    expect((await room('locked')).participants).toHaveLength(3);
    expect((await admin('POST', '/rooms/nowhere/lock')).status).toBe(404);
  });

  it('kicks a participant: it is told, removed from the room, and the others see it leave', async () => {
    const [a, b] = [await participant('kicking', 'A'), await participant('kicking', 'B')];
    const target = b.joined.participantId;
    expect((await admin('POST', `/rooms/kicking/participants/${target}/kick`)).status).toBe(204);
    expect(await b.waitForEvent('removed')).toEqual({ reason: 'kicked' });
    expect(
      await a.waitForEvent(
        'participantLeft',
        (e: { participantId: string }) => e.participantId === target,
      ),
    ).toEqual({ participantId: target, reason: 'kicked' });
    expect((await room('kicking')).participants.map((p) => p.id)).toEqual([a.joined.participantId]);
    // B's producers are gone with it: A's consumers of them are closed.
    await a.waitForEvent('consumerClosed');
    // The kicked socket is no longer in a room: its requests are refused.
    await expect(b.request('chat', { text: 'still here?' })).rejects.toMatchObject({
      code: 'not_joined',
    });
    expect((await admin('POST', `/rooms/kicking/participants/${target}/kick`)).status).toBe(404);
  });

  it('ends a room: everyone is removed and the room is gone', async () => {
    const [a, b] = [await participant('ending', 'A'), await participant('ending', 'B')];
    expect((await admin('DELETE', '/rooms/ending')).status).toBe(204);
    expect(await a.waitForEvent('removed')).toEqual({ reason: 'room_ended' });
    expect(await b.waitForEvent('removed')).toEqual({ reason: 'room_ended' });
    expect((await admin('GET', '/rooms/ending')).status).toBe(404);
    expect(((await admin('GET', '/rooms')).body as Room[]).map((r) => r.id)).not.toContain(
      'ending',
    );
    expect((await admin('DELETE', '/rooms/ending')).status).toBe(404);
    // The room can be opened again afresh.
    expect(await joinError(a, 'ending')).toBe('joined');
  });
});
