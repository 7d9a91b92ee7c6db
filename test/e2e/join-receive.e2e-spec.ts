/**
 * Joining fast: a join that sets up receiving in the same round trip (ReceiveRequest),
 * driven by a light client (its own ICE, DTLS and SRTP) and by mediasoup-client over
 * libwebrtc; and joins announced to the room in batches.
 */
import type { Socket } from 'socket.io-client';
import { LightViewer } from '../../bench/light-viewer';
import type { JoinResult, ParticipantView } from '../../src/signaling/socketio/protocol';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';
import { connectSocket, errorCode, request } from '../support/signaling-client';

describe('joining fast', () => {
  let shard: TestShard;
  let publisher: NodeParticipant;
  const open: { close(): void }[] = [];
  const track = <T extends { close(): void }>(client: T) => (open.push(client), client);

  beforeAll(async () => {
    shard = await startShard();
    publisher = track(await NodeParticipant.connect(shard.baseUrl));
    await publisher.join('fast-room', 'Publisher');
    await publisher.publish(['audio', 'video']);
  });
  afterAll(async () => {
    open.forEach((client) => client.close());
    await shard.close();
  });

  it('lets a client with its own DTLS receive media after a single join request', async () => {
    const { viewer, timings } = await LightViewer.measure(
      shard.baseUrl,
      'fast-room',
      'Light',
      publisher.joined.participantId,
    );
    track(viewer);
    // measure() resolves only once an RTP packet of the publisher's was decrypted with
    // the keys of the DTLS handshake, on the transport and consumers the join set up.
    expect(timings.firstPacket).toBeGreaterThanOrEqual(timings.connected);
  });

  it('gives mediasoup-client a receive transport and paused consumers to resume', async () => {
    const viewer = track(await NodeParticipant.connect(shard.baseUrl));
    // Asked before joining, the shard's capabilities are those every room's router has.
    const { routerRtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
    expect(routerRtpCapabilities).toEqual(publisher.joined.routerRtpCapabilities);
    const answer = await viewer.joinReceiving('fast-room', 'Viewer', routerRtpCapabilities);
    const publisherProducers = [...publisher.producers.values()].map((p) => p.id).sort();
    const consumed = answer.receive!.consumers.filter(
      (c) => c.participantId === publisher.joined.participantId,
    );
    expect(consumed.map((c) => c.producerId).sort()).toEqual(publisherProducers);
    const stats = await eventually(
      () => viewer.receiveStats(),
      (s) => (s[publisher.joined.participantId]?.framesDecoded ?? 0) > 5,
    );
    expect(stats[publisher.joined.participantId].framesDecoded).toBeGreaterThan(5);
    expect(stats[publisher.joined.participantId].audioPackets).toBeGreaterThan(0);
  });

  it('leaves out what the capabilities cannot decode and refuses bad DTLS parameters', async () => {
    const caps = publisher.device.rtpCapabilities;
    const audioOnly = { ...caps, codecs: caps.codecs!.filter((c) => c.kind === 'audio') };
    const socket = track(await connectSocket(shard.baseUrl));
    const answer = (await request(socket, 'join', {
      room: 'fast-room',
      displayName: 'Audio only',
      receive: { rtpCapabilities: audioOnly },
    })) as JoinResult;
    expect(answer.receive!.consumers.map((c) => c.kind)).toEqual(['audio']);
    // The client made its capabilities from the router's: the answer does not repeat them.
    expect(answer.routerRtpCapabilities).toBeUndefined();

    const hostile = track(await connectSocket(shard.baseUrl));
    for (const dtlsParameters of [
      { fingerprints: [] },
      { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'x'.repeat(300) }] },
      { role: 'client', fingerprints: [{ algorithm: 'rot13', value: 'AB:CD' }] },
    ]) {
      await expect(
        errorCode(
          request(hostile, 'join', {
            room: 'fast-room',
            displayName: 'Hostile',
            receive: { rtpCapabilities: caps, dtlsParameters },
          }),
        ),
      ).resolves.toBe('bad_request');
    }
    // A refused join leaves nobody behind: the socket can join, and nobody sees a ghost.
    const again = (await request(hostile, 'join', {
      room: 'fast-room',
      displayName: 'Reformed',
    })) as JoinResult;
    expect(again.participants.map((p) => p.displayName)).not.toContain('Hostile');
    expect(again.routerRtpCapabilities).toEqual(publisher.joined.routerRtpCapabilities);
  });

  it('announces a burst of joins in few messages, each join before its leave', async () => {
    const watcher = track(await connectSocket(shard.baseUrl));
    await request(watcher, 'join', { room: 'burst-room', displayName: 'Watcher' });
    const seen: string[] = [];
    let announcements = 0;
    watcher.on('participantsJoined', (joined: ParticipantView[]) => {
      announcements += 1;
      for (const { displayName } of joined) {
        if (displayName !== 'Watcher') seen.push(`joined ${displayName}`);
      }
    });
    watcher.on('participantLeft', ({ participantId }: { participantId: string }) =>
      seen.push(`left ${names.get(participantId)}`),
    );
    const names = new Map<string, string>();
    const joiners: Socket[] = await Promise.all(
      Array.from({ length: 10 }, async () => track(await connectSocket(shard.baseUrl))),
    );
    await Promise.all(
      joiners.map(async (socket, i) => {
        const answer = (await request(socket, 'join', {
          room: 'burst-room',
          displayName: `J${i}`,
        })) as JoinResult;
        names.set(answer.participantId, `J${i}`);
      }),
    );
    await request(joiners[0], 'leave', {});
    await eventually(
      () => seen.length,
      (n) => n >= 11,
    );
    expect(seen.filter((s) => s.startsWith('joined')).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `joined J${i}`).sort(),
    );
    expect(seen.at(-1)).toBe('left J0');
    expect(announcements).toBeLessThan(10);
  });
});
