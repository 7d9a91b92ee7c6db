/**
 * One room across three shards in two regions (client networks on loopback: 127.0.x and
 * 127.1.x are "eu", 127.2.x "us"), Node clients and a Chromium page, with real HAProxy, Redis, PostgreSQL and mediasoup pipes between
 * the shard processes: everyone decodes everyone, each track crosses to each other shard
 * once, and kill -9 of a shard costs only its own participants a rejoin; XMPP occupants
 * on different shards meet in one spanning room. Times are printed, not asserted.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH } from '../support/netns-shard';
import { eventually } from '../support/node-participant';
import {
  RejoiningParticipant,
  signalingJoinThroughProxy,
  startCluster,
  TestCluster,
} from '../support/cluster';
import { portalApi } from '../support/portal-api';
import { blackholeUdp, udpPortsOf } from '../support/udp-blackhole';
import { errorCode, request } from '../support/signaling-client';
import { connectXmpp, loadXmpp, recordStanzas } from '../support/xmpp-client';
import { waitForJoined, waitForMediaFrom } from '../support/web-client-page';

jest.setTimeout(180_000);

const MUC = 'http://jabber.org/protocol/muc';
const ADMIN = { email: 'admin@example.com', password: 'span-admin-password' };
const EU = (n: number) => ({ localAddress: `127.1.0.${n}` });
const US = (n: number) => ({ localAddress: `127.2.0.${n}` });

/**
 * Waits until every participant decodes video and hears audio from every other one (and
 * from `extra` senders: a page's participant, by id and name); the pairs that still do
 * not ("receiver<sender", with the receiver's errors), none when all do.
 */
async function undecodedPairs(
  people: RejoiningParticipant[],
  extra: { participantId: string; displayName: string }[] = [],
) {
  const missing = async (receiver: RejoiningParticipant) => {
    const stats = await receiver.current.participant.receiveStats().catch(() => ({}));
    const errors = receiver.current.participant.errors.map((error) => error.message);
    return [...people, ...extra]
      .filter((sender) => sender !== receiver)
      .filter((sender) => {
        const from = (stats as Record<string, { audioPackets: number; framesDecoded: number }>)[
          sender.participantId
        ];
        return !((from?.framesDecoded ?? 0) > 10 && (from?.audioPackets ?? 0) > 20);
      })
      .map((sender) => `${receiver.displayName}<${sender.displayName} ${errors.join('; ')}`);
  };
  return eventually(
    async () => (await Promise.all(people.map(missing))).flat(),
    (pairs) => pairs.length === 0,
    30_000,
  );
}

async function pipes(cluster: TestCluster, shardId: string) {
  const metrics = await cluster.shard(shardId).process!.metrics();
  return {
    in: metrics.videowindow_cascade_pipes_in,
    out: metrics.videowindow_cascade_pipes_out,
    participants: metrics.videowindow_participants,
  };
}

describe('cluster: one room spanning three shards', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  let pageShard: string;
  let pageSender: { participantId: string; displayName: string };
  const people: RejoiningParticipant[] = [];
  const webRtcPorts = new Map<string, number[]>();

  beforeAll(async () => {
    cluster = await startCluster({
      regions: ['eu', 'eu', 'us'],
      regionMap: '127.0.0.0/16 eu\n127.1.0.0/16 eu\n127.2.0.0/16 us\n',
      env: {
        ROOM_SPAN: 'true',
        SPAN_SHARD_ROOM_SIZE: '2',
        // Generous: the test machine is busy, and the policy is not about CPU here.
        SPAN_MAX_SHARD_CPU: '8',
        PIPE_LISTEN_IP: '127.0.0.1',
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        DRAIN_TIMEOUT_SECONDS: '3',
        CLUSTER_HEARTBEAT_MS: '300',
        CLUSTER_SHARD_TTL_MS: '1000',
        PIPE_STALL_CHECK_MS: '1000',
      },
    });
    // Before any room: each worker's only UDP sockets are its WebRTC server's.
    for (const shard of cluster.shards)
      webRtcPorts.set(shard.id, udpPortsOf(shard.process!.children()));
    // On the host's network: every shard and the proxy are on loopback.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_FLAGS,
      headless: true,
    });
  });
  afterAll(async () => {
    people.forEach((person) => person.close());
    await browser?.close().catch(() => undefined);
    await cluster?.stop();
  });

  const join = async (name: string, from: { localAddress: string }) => {
    const person = new RejoiningParticipant(cluster.url, 'spanning-room', name, from);
    people.push(person);
    await person.join();
    await person.publish(['audio', 'video']);
    return person;
  };

  it('serves each joiner in its region, spills over a full shard, and everyone decodes everyone', async () => {
    const ann = await join('Ann', EU(10));
    const bea = await join('Bea', EU(11));
    // A European page (from 127.0.0.1): the home is full, the other European shard joins.
    const context = await browser.newContext({ viewport: { width: 640, height: 360 } });
    page = await context.newPage();
    // Every video (at this window size the grid would page the others out).
    await page.goto(`${cluster.url}/r/spanning-room?name=Page&videos=all`);
    await waitForJoined(page);
    // Publishing before the next ones join.
    await page.waitForFunction(() => window.videoWindow!.stats().producers >= 2);
    const cid = await join('Cid', EU(12));
    const dee = await join('Dee', US(10));
    const eve = await join('Eve', US(11));
    // Two of a room per shard: Cid joins the page's European shard; Americans go home.
    const home = ann.shard;
    const other = home === 'shard1' ? 'shard2' : 'shard1';
    pageShard = other;
    expect(['shard1', 'shard2']).toContain(home);
    expect([bea.shard, cid.shard, dee.shard, eve.shard]).toEqual([home, other, 'shard3', 'shard3']);
    // The last one sees the five before it, whichever shard serves them.
    expect(eve.current.joined.participants.map((p) => p.displayName).sort()).toEqual([
      'Ann',
      'Bea',
      'Cid',
      'Dee',
      'Page',
    ]);
    const pageId = eve.current.joined.participants.find((p) => p.displayName === 'Page')!.id;

    const startedAt = Date.now();
    pageSender = { participantId: pageId, displayName: 'Page' };
    expect(await undecodedPairs(people, [pageSender])).toEqual([]);
    await waitForMediaFrom(page, ['Ann', 'Bea', 'Cid', 'Dee', 'Eve'], true, 30_000);
    console.log(
      `span: 6 participants (5 Node, 1 Chromium) on 3 shards decode each other ${Date.now() - startedAt} ms after the last join`,
    );

    // Each of a shard's tracks (two per participant) crosses to each other shard once,
    // whatever the number of its receivers there; each shard counts only its own people.
    const served = { [home]: 2, [other]: 2, shard3: 2 };
    for (const shard of ['shard1', 'shard2', 'shard3']) {
      const counts = await pipes(cluster, shard);
      expect(counts).toEqual({
        in: 2 * (6 - served[shard]),
        out: 2 * served[shard] * 2,
        participants: served[shard],
      });
    }
  });

  it('carries chat across shards, both ways', async () => {
    const [ann, , , dee] = people;
    const heard = dee.current.participant.waitForEvent<{ text: string }>(
      'chat',
      (chat) => chat.text === 'hello from eu',
    );
    await ann.current.participant.request('chat', { text: 'hello from eu' });
    await expect(heard).resolves.toMatchObject({ from: { displayName: 'Ann' } });
    const answered = ann.current.participant.waitForEvent<{ text: string }>(
      'chat',
      (chat) => chat.text === 'hello from us',
    );
    await dee.current.participant.request('chat', { text: 'hello from us' });
    await expect(answered).resolves.toMatchObject({ from: { displayName: 'Dee' } });
  });

  it("a stalled pipe is rebuilt: the shard's people get the others' media again, the others never lose theirs", async () => {
    const stalled = 'shard3';
    const shard = cluster.shard(stalled).process!;
    // The sockets of its pipes (and of nothing else, before any recording).
    const pipePorts = udpPortsOf(shard.children()).filter(
      (port) => !webRtcPorts.get(stalled)!.includes(port),
    );
    expect(pipePorts.length).toBeGreaterThan(0);
    const here = people.filter((p) => p.shard === stalled);
    const elsewhere = people.filter((p) => p.shard !== stalled);
    const packets = (receivers: RejoiningParticipant[], senders: RejoiningParticipant[]) =>
      Promise.all(receivers.flatMap((r) => senders.map((s) => r.packetsFrom(s))));
    /** Packets each pair gets over a second (consumers made anew count from zero). */
    const flowing = async (receivers: RejoiningParticipant[], senders: RejoiningParticipant[]) => {
      const before = await packets(receivers, senders);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return (await packets(receivers, senders)).map((n, i) => n - before[i]);
    };
    const seenElsewhere = await packets(elsewhere, here);

    // Every datagram to those ports is dropped: the pipes into the shard stall.
    const lift = blackholeUdp(pipePorts);
    try {
      expect(await flowing(here, elsewhere)).toEqual(Array(here.length * elsewhere.length).fill(0));
      await eventually(
        () => shard.output(),
        (output) => output.includes('the pipe from the shard stalled: rebuilding it'),
        20_000,
      );
      // Rebuilt on new sockets while the old ones are still cut off: media flows again.
      const rebuilt = await eventually(
        () => flowing(here, elsewhere),
        (deltas) => deltas.every((n) => n > 20),
        20_000,
      );
      expect(rebuilt.every((n) => n > 20)).toBe(true);
    } finally {
      lift();
    }
    // The others went on receiving the shard's people, and nobody had to rejoin.
    const nowElsewhere = await packets(elsewhere, here);
    nowElsewhere.forEach((n, i) => expect(n).toBeGreaterThan(seenElsewhere[i]));
    expect(people.flatMap((p) => p.interruptions)).toEqual([]);
    // One pipe per track and shard pair again.
    const counts = await eventually(
      () => pipes(cluster, stalled),
      (c) => c.in === 2 * (6 - here.length),
      10_000,
    );
    expect(counts).toEqual({
      in: 2 * (6 - here.length),
      out: 2 * here.length * 2,
      participants: here.length,
    });
  });

  it('kill -9 of a shard: its participants rejoin elsewhere, the others never lose each other', async () => {
    const dead = 'shard3';
    const victims = people.filter((p) => p.shard === dead);
    const survivors = people.filter((p) => p.shard !== dead);
    const packetsBetweenSurvivors = () =>
      Promise.all(
        survivors.flatMap((receiver) =>
          survivors.filter((s) => s !== receiver).map((sender) => receiver.packetsFrom(sender)),
        ),
      );
    const before = await packetsBetweenSurvivors();

    const killedAt = Date.now();
    cluster.kill(dead);
    await eventually(
      () => victims.map((victim) => victim.shard),
      (shards) => shards.every((shard) => shard !== dead),
      15_000,
    );
    const rejoined = victims.map((victim) => victim.joins.at(-1)!.at - killedAt);
    console.log(
      `span: kill -9 of ${dead}, its participants rejoined after ${rejoined.join(', ')} ms`,
    );
    expect(await undecodedPairs(people, [pageSender])).toEqual([]);
    await waitForMediaFrom(page, ['Dee', 'Eve'], true, 30_000);
    console.log(`span: everyone decodes everyone again ${Date.now() - killedAt} ms after the kill`);

    // The survivors were never interrupted, and media between them kept flowing.
    expect(survivors.flatMap((survivor) => survivor.interruptions)).toEqual([]);
    const after = await packetsBetweenSurvivors();
    after.forEach((count, i) => expect(count).toBeGreaterThan(before[i]));
    // The dead shard's pipes are gone: what remains pipes between the two live shards.
    const live = ['shard1', 'shard2'];
    const tracksOn = (shard: string) =>
      2 * (people.filter((p) => p.shard === shard).length + Number(pageShard === shard));
    for (const shard of live) {
      const counts = await eventually(
        () => pipes(cluster, shard),
        (c) => c.in === 12 - tracksOn(shard) && c.out === tracksOn(shard),
        10_000,
      );
      expect(counts).toMatchObject({ in: 12 - tracksOn(shard), out: tracksOn(shard) });
    }
  });

  it('XMPP occupants served by different shards are in one spanning room with socket.io', async () => {
    const { xml } = await loadXmpp();
    const room = 'xmpp-span';
    // On the two shards left after the kill above.
    const live = ['shard1', 'shard2'];
    const roomJid = `${room}@conference.localhost`;
    const before = await Promise.all(live.map((id) => pipes(cluster, id)));
    const members = [];
    for (const [i, shard] of ['shard1', 'shard2', 'shard1'].entries()) {
      const xmpp = await connectXmpp({
        service: `${cluster.url.replace('http', 'ws')}/xmpp-websocket?shard=${shard}`,
        domain: 'localhost',
        mechanism: 'ANONYMOUS',
      });
      const log = recordStanzas(xmpp);
      const nick = `x${i + 1}`;
      await xmpp.send(xml('presence', { to: `${roomJid}/${nick}` }, xml('x', { xmlns: MUC })));
      await log.waitFor(
        (st) => st.is('presence') && st.attrs.from === `${roomJid}/${nick}` && !st.attrs.type,
        `self-presence of ${nick}`,
      );
      members.push({ xmpp, log, nick });
    }
    const web = await signalingJoinThroughProxy(cluster.url, room, 'web', EU(20));
    try {
      expect(web.joined.participants.map((p) => p.displayName).sort()).toEqual(['x1', 'x2', 'x3']);
      // Two on the home shard, whichever shard their sessions are on; the third and the
      // web participant spilled to the other: each shard serves its own.
      const after = await Promise.all(live.map((id) => pipes(cluster, id)));
      const added = after.map((counts, i) => counts.participants - before[i].participants);
      expect(added).toEqual([2, 2]);
      for (const member of members) {
        for (const nick of ['x1', 'x2', 'x3', 'web'].filter((n) => n !== member.nick)) {
          await member.log.waitFor(
            (st) => st.is('presence') && st.attrs.from === `${roomJid}/${nick}` && !st.attrs.type,
            `presence of ${nick} for ${member.nick}`,
          );
        }
      }
      // Groupchat from each occupant reaches all the others, whichever shard serves it and
      // whichever shard its session is on (the one of them whose session's shard hosts
      // the room too but serves it elsewhere sends its stanzas to where it is served).
      const chats: { text: string }[] = [];
      web.socket.on('chat', (chat: { text: string }) => chats.push(chat));
      for (const sender of members) {
        const text = `hi from ${sender.nick}`;
        await sender.xmpp.send(
          xml('message', { to: roomJid, type: 'groupchat', id: text }, xml('body', {}, text)),
        );
        for (const member of members) {
          const message = await member.log.waitFor(
            (st) => st.is('message') && st.getChildText('body') === text,
            `groupchat "${text}" for ${member.nick}`,
          );
          expect(message.attrs.from).toBe(`${roomJid}/${sender.nick}`);
          expect(message.attrs.type).toBe('groupchat');
        }
      }
      await eventually(
        () => chats.map((chat) => chat.text),
        (texts) => texts.length === members.length,
        5_000,
      );
      expect(chats.map((chat) => chat.text)).toEqual(members.map((m) => `hi from ${m.nick}`));
      // And each one's leave takes it out of the room for everyone.
      const left: string[] = [];
      web.socket.on('participantLeft', (p: { participantId: string }) =>
        left.push(p.participantId),
      );
      for (const [i, leaver] of members.entries()) {
        await leaver.xmpp.send(
          xml('presence', { to: `${roomJid}/${leaver.nick}`, type: 'unavailable' }),
        );
        for (const member of members.slice(i)) {
          await member.log.waitFor(
            (st) =>
              st.is('presence') &&
              st.attrs.from === `${roomJid}/${leaver.nick}` &&
              st.attrs.type === 'unavailable',
            `unavailable presence of ${leaver.nick} for ${member.nick}`,
          );
        }
      }
      await eventually(
        () => left.length,
        (n) => n === members.length,
        10_000,
      );
      expect(left).toHaveLength(members.length);
    } finally {
      web.socket.close();
      await Promise.all(members.map(({ xmpp }) => xmpp.stop().catch(() => undefined)));
    }
  });

  it("keeps a meeting's lobby and lock on every shard of a spanning room", async () => {
    const room = 'span-guarded';
    const http = portalApi(() => ({ baseUrl: cluster.url }));
    const owner = { email: 'owner@example.com', password: 'owner-password-1' };
    expect((await http.register({ ...owner, displayName: 'Owner' })).status).toBe(201);
    const access = (await http.login(owner)).body.accessToken as string;
    const meeting = await http.call('POST', '/meetings', { title: 'G', room, lobby: true }, access);
    expect(meeting.status).toBe(201);
    const hostToken = async () =>
      (await http.call('POST', `/meetings/${meeting.body.id}/join-token`, {}, access)).body
        .token as string;
    const sockets: { close(): unknown }[] = [];
    const joinAs = async (name: string, n: number, options: object = {}) => {
      const joined = await signalingJoinThroughProxy(cluster.url, room, name, {
        ...EU(n),
        ...options,
      });
      sockets.push(joined.socket);
      return joined;
    };
    try {
      // Two moderators fill the room's home shard (SPAN_SHARD_ROOM_SIZE 2): guests spill
      // over to another shard and knock on its lobby.
      const host = await joinAs('Host', 30, { token: await hostToken() });
      await joinAs('Cohost', 31, { token: await hostToken() });
      const knocks: { id: string; displayName: string }[] = [];
      host.socket.on('lobbyKnock', ({ entry }: { entry: (typeof knocks)[number] }) =>
        knocks.push(entry),
      );
      const guest = joinAs('Guest', 32, { waitInLobby: true });
      await eventually(
        () => knocks.length,
        (n) => n === 1,
        10_000,
      );
      expect(knocks[0].displayName).toBe('Guest');
      await request(host.socket, 'lobbyAdmit', { participantId: knocks[0].id });
      const admitted = await guest;
      expect(admitted.joined.shard).not.toBe(host.joined.shard);
      // The hosts' join tokens name them as the meeting's owner.
      expect(admitted.joined.participants.map((p) => p.displayName)).toEqual(['Owner', 'Owner']);
      const turnedAway = joinAs('Second', 33, { waitInLobby: true });
      await eventually(
        () => knocks.length,
        (n) => n === 2,
        10_000,
      );
      await request(host.socket, 'lobbyReject', { participantId: knocks[1].id });
      await expect(turnedAway).rejects.toThrow(/turned away/);

      // Locked through the admin API (answered by the home shard): every host refuses.
      const admin = (await http.login(ADMIN)).body.accessToken as string;
      expect((await http.call('POST', `/admin/rooms/${room}/lock`, undefined, admin)).status).toBe(
        204,
      );
      // The home shard tells the others of the lock before this chat (one ordered bus):
      // once the guest has the chat, its shard knows the room is locked.
      const chat = new Promise((resolve) => admitted.socket.once('chat', resolve));
      await request(host.socket, 'chat', { text: 'locked now' });
      await chat;
      expect(await errorCode(joinAs('Late', 34))).toBe('room_locked');
    } finally {
      sockets.forEach((socket) => socket.close());
    }
  });

  it('drains a host of a spanning room: its people stay until the deadline, then move to the other', async () => {
    const home = people[0].shard;
    const draining = pageShard;
    const movers = people.filter((p) => p.shard === draining);
    const stayers = people.filter((p) => p.shard === home);
    expect(movers.length).toBeGreaterThan(0);
    const interruptionsBefore = stayers.map((p) => p.interruptions.length);
    const admin = (await portalApi(() => ({ baseUrl: cluster.url })).login(ADMIN)).body
      .accessToken as string;
    const shardApi = portalApi(() => ({ baseUrl: cluster.shard(draining).process!.url }));
    const answer = await shardApi.call('POST', '/admin/shard/drain', undefined, admin);
    expect(answer.body.state).toBe('draining');
    expect(answer.body.rooms).toBeGreaterThanOrEqual(1);
    const deadline = Date.parse(answer.body.deadline as string);

    await eventually(
      () => movers.map((p) => p.shard),
      (shards) => shards.every((shard) => shard === home),
      20_000,
    );
    // Kept until the deadline (not cut when the drain began), then told to move.
    for (const mover of movers) expect(mover.interruptions.at(-1)!).toBeGreaterThan(deadline - 500);
    expect(stayers.map((p) => p.interruptions.length)).toEqual(interruptionsBefore);
    // The page rejoined by itself (as after any move) and decodes everyone: its new id.
    await waitForMediaFrom(page, ['Ann', 'Bea', 'Cid', 'Dee', 'Eve'], true, 30_000);
    const pageId = (await page.evaluate(() => window.videoWindow!.state.selfId))!;
    expect(await undecodedPairs(people, [{ participantId: pageId, displayName: 'Page' }])).toEqual(
      [],
    );
    // One shard serves the whole room now: nothing is piped.
    expect(await pipes(cluster, home)).toMatchObject({ in: 0, out: 0, participants: 6 });
    const exited = await eventually(
      () => cluster.shard(draining).process!.exited(),
      (code) => code !== undefined,
      15_000,
    );
    expect(exited).toBe('0');
  });
});

declare const window: { videoWindow?: import('../../src/web/client/main').VideoWindowHook };
