/**
 * Meeting settings enforced at the socket.io door, by real clients: the password, the
 * participant cap and the lobby (moderators admit or reject; media flows once admitted).
 */
import { Socket } from 'socket.io-client';
import type {
  JoinResult,
  LobbyEntryView,
  WaitingInLobby,
} from '../../src/signaling/socketio/protocol';
import { eventually, NodeParticipant } from '../support/node-participant';
import { connectSocket, request, RequestError } from '../support/signaling-client';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';

type LobbyEvent = { participantId?: string; reason?: string; waiting: LobbyEntryView[] };

describe('meeting rules at the socket.io door', () => {
  let shard: TestShard;
  let accessToken: string;
  const http = portalApi(() => shard);
  const sockets: Socket[] = [];
  const clients: NodeParticipant[] = [];

  const meeting = async (settings: Record<string, unknown>) => {
    const created = await http.call(
      'POST',
      '/meetings',
      { title: 'Test', ...settings },
      accessToken,
    );
    expect(created.status).toBe(201);
    const minted = await http.call(
      'POST',
      `/meetings/${created.body.id}/join-token`,
      undefined,
      accessToken,
    );
    return { room: created.body.room as string, hostToken: minted.body.token as string };
  };
  const socket = async (token?: string) => {
    const connected = await connectSocket(shard.baseUrl, { token });
    sockets.push(connected);
    return connected;
  };
  const participant = async (token?: string) => {
    const client = await NodeParticipant.connect(shard.baseUrl, { token });
    clients.push(client);
    return client;
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: RequestError) => ({ code: error.code, message: error.message }),
    );

  beforeAll(async () => {
    shard = await startShard();
    const account = { email: 'host@example.org', password: 'host-password', displayName: 'Host' };
    expect((await http.register(account)).status).toBe(201);
    accessToken = (await http.login({ email: account.email, password: account.password })).body
      .accessToken;
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    sockets.forEach((s) => s.close());
    await shard.close();
  });

  it('asks guests for the password; the host needs none', async () => {
    const { room, hostToken } = await meeting({ password: 'open sesame' });
    const guest = await socket();
    expect(await refusal(request(guest, 'join', { room, displayName: 'G' }))).toEqual({
      code: 'password_required',
      message: 'password_required: this meeting needs a password',
    });
    expect(
      await refusal(request(guest, 'join', { room, displayName: 'G', password: 'guess' })),
    ).toMatchObject({ code: 'forbidden', message: 'forbidden: wrong meeting password' });
    expect(await refusal(request(guest, 'join', { room, password: '' }))).toMatchObject({
      code: 'bad_request',
    });
    await expect(
      request(guest, 'join', { room, displayName: 'G', password: 'open sesame' }),
    ).resolves.toMatchObject({ displayName: 'G', role: 'guest' });
    await expect(request(await socket(hostToken), 'join', { room })).resolves.toMatchObject({
      displayName: 'Host',
      role: 'moderator',
    });
  });

  it('turns people away at the cap, but not the host', async () => {
    const { room, hostToken } = await meeting({ maxParticipants: 2 });
    await request(await socket(), 'join', { room, displayName: 'A' });
    await request(await socket(), 'join', { room, displayName: 'B' });
    expect(await refusal(request(await socket(), 'join', { room, displayName: 'C' }))).toEqual(
      expect.objectContaining({ code: 'room_full' }),
    );
    await expect(request(await socket(hostToken), 'join', { room })).resolves.toMatchObject({
      role: 'moderator',
    });
  });

  it('keeps guests in the lobby until the host admits or rejects them', async () => {
    const { room, hostToken } = await meeting({ lobby: true });
    const host = await participant(hostToken);
    expect((await host.join(room, 'ignored')).waiting).toEqual([]);
    await host.publish();

    // A guest knocks: it waits, and the host sees it in the lobby.
    const guest = await participant();
    const knock = await guest.request('join', { room, displayName: 'Guest' });
    expect(knock).toEqual({ lobby: true, participantId: expect.any(String), displayName: 'Guest' });
    const knocked = await host.waitForEvent<LobbyEvent>('lobbyKnock');
    expect(knocked.waiting.map((entry) => entry.displayName)).toEqual(['Guest']);
    // Waiting is not being in the room.
    expect(await refusal(guest.request('chat', { text: 'hi' }))).toMatchObject({
      code: 'not_joined',
    });
    expect(await refusal(guest.request('join', { room }))).toMatchObject({ code: 'conflict' });

    // Admitted, the guest completes its join and media flows both ways.
    const guestId = (knock as { participantId: string }).participantId;
    expect(await refusal(host.request('lobbyAdmit', {} as never))).toMatchObject({
      code: 'bad_request',
    });
    await host.request('lobbyAdmit', { participantId: guestId });
    expect(await refusal(guest.request('join', { room }))).toMatchObject({ code: 'conflict' });
    const result = await guest.enter(await guest.waitForEvent('admitted'));
    expect(result).toMatchObject({ participantId: guestId, role: 'guest' });
    expect(result.participants.map((p) => p.displayName)).toEqual(['Host']);
    expect(result.waiting).toBeUndefined();
    await guest.publish(['video']);
    const hostId = host.joined.participantId;
    const decoded = (client: NodeParticipant, from: string) =>
      eventually(
        () => client.receiveStats(),
        (stats) => (stats[from]?.framesDecoded ?? 0) > 0,
      );
    expect((await decoded(guest, hostId))[hostId].framesDecoded).toBeGreaterThan(0);
    expect((await decoded(host, guestId))[guestId].framesDecoded).toBeGreaterThan(0);
    await expect(
      host.waitForEvent<LobbyEvent>('lobbyLeft', (e) => e.participantId === guestId),
    ).resolves.toMatchObject({ reason: 'admitted', waiting: [] });

    // Only moderators decide; the rejected one is told so.
    const second = await participant();
    const secondKnock = await second.request('join', { room, displayName: 'Second' });
    const secondId = (secondKnock as { participantId: string }).participantId;
    expect(await refusal(guest.request('lobbyAdmit', { participantId: secondId }))).toEqual({
      code: 'forbidden',
      message: 'forbidden: only moderators admit or reject people in the lobby',
    });
    expect(await refusal(host.request('lobbyAdmit', { participantId: 'nobody' }))).toMatchObject({
      code: 'not_found',
    });
    await host.request('lobbyReject', { participantId: secondId });
    await expect(second.waitForEvent('rejected')).resolves.toEqual({ reason: 'rejected' });
    expect(await refusal(second.request('chat', { text: 'hi' }))).toMatchObject({
      code: 'not_joined',
    });

    // A waiting guest who disconnects leaves the lobby.
    const third = await socket();
    const thirdKnock = await request(third, 'join', { room, displayName: 'Third' });
    const thirdId = (thirdKnock as { participantId: string }).participantId;
    await host.waitForEvent<LobbyEvent>('lobbyKnock', (e) => e.waiting.length === 1);
    third.close();
    await expect(
      host.waitForEvent<LobbyEvent>('lobbyLeft', (e) => e.participantId === thirdId),
    ).resolves.toEqual({ participantId: thirdId, reason: 'disconnected', waiting: [] });
    expect(await refusal(host.request('lobbyAdmit', { participantId: thirdId }))).toMatchObject({
      code: 'not_found',
    });

    // Someone else waiting can also walk away with a leave request.
    const fourth = await socket();
    await request(fourth, 'join', { room, displayName: 'Fourth' });
    await expect(request(fourth, 'leave', {})).resolves.toEqual({});
    await expect(
      host.waitForEvent<LobbyEvent>('lobbyLeft', (e) => e.reason === 'left'),
    ).resolves.toMatchObject({ waiting: [] });
    expect(guest.errors).toEqual([]);
  });

  it('sets up what a join asked to receive once the guest is admitted', async () => {
    const { room, hostToken } = await meeting({ lobby: true });
    const host = await participant(hostToken);
    await host.join(room, 'ignored');
    await host.publish(['audio']);
    const guest = await socket();
    const knock = await request(guest, 'join', {
      room,
      displayName: 'Guest',
      receive: { rtpCapabilities: host.device.rtpCapabilities },
    });
    const admitted = new Promise<JoinResult>((resolve) => guest.once('admitted', resolve));
    await host.request('lobbyAdmit', { participantId: (knock as WaitingInLobby).participantId });
    const { receive } = await admitted;
    expect(receive?.transport.id).toEqual(expect.any(String));
    expect(receive?.consumers.map((c) => c.producerId)).toEqual([host.producers.get('audio')!.id]);
  });

  it('tells a moderator who arrives later who is already waiting', async () => {
    const { room, hostToken } = await meeting({ lobby: true });
    const early = await socket();
    await expect(request(early, 'join', { room, displayName: 'Early' })).resolves.toMatchObject({
      lobby: true,
    });
    const joined = await request(await socket(hostToken), 'join', { room });
    expect(!('lobby' in joined) && joined.waiting).toEqual([
      { id: expect.any(String), displayName: 'Early', knockedAt: expect.any(String) },
    ]);
  });
});
