/**
 * The Jingle mapping of the Jitsi focus, on stanzas a real lib-jitsi-meet in Chromium
 * exchanged with the focus (captured once into test/fixtures/jitsi: the focus's
 * session-initiate, the client's session-accept, and Chromium's local SDP behind it),
 * and against a real mediasoup router: what the mapping makes of the answer must be
 * what mediasoup accepts, and what it offers must read back unchanged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Element, parse } from 'ltx';
import type { types } from 'mediasoup';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config';
import { MediaService } from '../../src/media/media.service';
import { RoomMedia } from '../../src/media/room-media';
import { WorkerPool } from '../../src/media/worker-pool.service';
import {
  consumerSources,
  contentElement,
  descriptionElement,
  dtlsParametersOf,
  focusCapabilities,
  JingleMappingError,
  offeredDescription,
  parseContent,
  parseContents,
  parseDescription,
  producerRtpParameters,
  sendingStreams,
  transportElement,
} from '../../src/signaling/xmpp/focus/jingle-media';
import { JINGLE } from '../../src/signaling/xmpp/focus/jingle-namespaces';

const FIXTURES = join(__dirname, '..', 'fixtures', 'jitsi');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const jingleOf = (file: string) =>
  (parse(fixture(file)) as Element).getChild('jingle', JINGLE.base)!;

/** `a=<name>:...` lines of an m-section of the SDP. */
const sdpLines = (sdp: string, kind: string, name: string) => {
  const section = sdp.split(/\r\nm=/).find((s) => s.startsWith(kind))!;
  return section
    .split('\r\n')
    .filter((line) => line.startsWith(`a=${name}:`))
    .map((line) => line.slice(name.length + 3));
};

const config = loadConfig({ NODE_ENV: 'test' }, join(__dirname, '..', '..', 'config'));

describe('Jingle mapping of the Jitsi focus', () => {
  let workers: WorkerPool;
  let media: MediaService;
  let room: RoomMedia;
  let table: types.RtpCapabilities;
  const sdp = fixture('chromium-local.sdp');
  const accept = parseContents(jingleOf('session-accept.xml'));

  beforeAll(async () => {
    workers = new WorkerPool(config, pino({ level: 'silent' }));
    await workers.onModuleInit();
    media = new MediaService(config, workers, pino({ level: 'silent' }));
    room = await media.openRoom('jingle');
    table = focusCapabilities(room.rtpCapabilities);
  });
  afterAll(async () => {
    await media.closeRoom('jingle');
    await workers.onModuleDestroy();
  });

  it('offers Opus and VP8 with RTX, with the router payload types and extension ids', () => {
    const offered = [...accept.map((c) => c.name)];
    expect(offered).toEqual(['audio', 'video']);
    const router = room.rtpCapabilities;
    for (const codec of table.codecs!) expect(router.codecs).toContainEqual(codec);
    expect(table.codecs!.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8', 'video/rtx']);
    expect(table.headerExtensions!.map((e) => e.uri)).not.toContain(
      'urn:ietf:params:rtp-hdrext:sdes:mid',
    );
  });

  it('reads the sending streams of the answer as Chromium has them in its SDP', () => {
    const video = accept.find((c) => c.name === 'video')!.description!;
    const [camera, ...others] = sendingStreams(video);
    expect(others).toEqual([]);
    // a=ssrc-group:SIM names the layers, lowest first; each FID group its layer's RTX.
    const [simulcast] = sdpLines(sdp, 'video', 'ssrc-group').filter((g) => g.startsWith('SIM'));
    const layers = simulcast.split(' ').slice(1).map(Number);
    const rtx = new Map(
      sdpLines(sdp, 'video', 'ssrc-group')
        .filter((g) => g.startsWith('FID'))
        .map((g) => g.split(' ').slice(1).map(Number) as [number, number]),
    );
    expect(camera.encodings).toEqual(
      layers.map((ssrc) => ({ ssrc, rtx: { ssrc: rtx.get(ssrc) } })),
    );

    const audio = accept.find((c) => c.name === 'audio')!.description!;
    const [microphone] = sendingStreams(audio);
    const [audioSsrc] = sdpLines(sdp, 'audio', 'ssrc')[0].split(' ');
    expect(microphone.encodings).toEqual([{ ssrc: Number(audioSsrc) }]);
  });

  it('gives mediasoup producers it accepts, and consumers the answer can take', async () => {
    room.addPeer('jitsi');
    room.addPeer('other');
    const transport = await room.createWebRtcTransport('jitsi', 'sendrecv', false);
    const [, fingerprint] = /a=fingerprint:\S+ (\S+)/.exec(sdp)!;
    expect(dtlsParametersOf(accept[0].transport)).toEqual({
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: fingerprint }],
    });
    const produced = [];
    for (const { description } of accept) {
      for (const { encodings } of sendingStreams(description!)) {
        const rtp = producerRtpParameters(description!, encodings, table);
        produced.push(await room.produce('jitsi', transport.id, description!.kind, rtp, 'camera'));
      }
    }
    expect(produced.map((p) => p.kind)).toEqual(['audio', 'video']);
    // The other way: a consumer on the same (sendrecv) transport, signalled as sources.
    const otherSend = await room.createWebRtcTransport('other', 'send', false);
    const { encodings } = sendingStreams(accept[1].description!)[0];
    const video = await room.produce(
      'other',
      otherSend.id,
      'video',
      producerRtpParameters(
        accept[1].description!,
        encodings.map((e, i) => ({ ...e, ssrc: 1000 + i, rtx: { ssrc: 2000 + i } })),
        table,
      ),
      'camera',
    );
    const consumer = await room.consume('jitsi', transport.id, video.id, table, false);
    const offeredVideo = offeredDescription('video', table);
    expect(consumer.rtpParameters.codecs.map((c) => c.payloadType)).toEqual(
      offeredVideo.codecs.map((c) => c.payloadType),
    );
    const { sources, groups } = consumerSources(consumer.rtpParameters, {
      name: 'abcd1234-v0',
      msid: 'abcd1234-v0-stream track',
      owner: 'room@conference.localhost/abcd1234',
    });
    const ssrc = consumer.rtpParameters.encodings![0].ssrc!;
    const rtxSsrc = consumer.rtpParameters.encodings![0].rtx!.ssrc;
    expect(sources.map((s) => s.ssrc)).toEqual([ssrc, rtxSsrc]);
    expect(groups).toEqual([{ semantics: 'FID', ssrcs: [ssrc, rtxSsrc] }]);
    room.closePeer('jitsi');
    room.closePeer('other');
    expect(room.stats()).toMatchObject({ transports: 0, producers: 0, consumers: 0 });
  });

  it('reads back what it renders: the captured offer, and one of its own', () => {
    const initiate = jingleOf('session-initiate.xml');
    for (const content of initiate.getChildren('content')) {
      const read = parseContent(content);
      const again = parseContent(
        contentElement({
          name: read.name,
          senders: read.senders,
          description: read.description,
          transport: content.getChild('transport', JINGLE.iceUdp)!,
        }),
      );
      expect(again).toEqual(read);
    }
    const description = offeredDescription(
      'video',
      table,
      [{ ssrc: 1, name: 'n-v0', msid: 's t', cname: 'c', owner: 'r@c/n', videoType: 'camera' }],
      [{ semantics: 'FID', ssrcs: [1, 2] }],
    );
    expect(parseDescription(descriptionElement(description))).toEqual(description);
    const transport = {
      iceParameters: { usernameFragment: 'u', password: 'p', iceLite: true },
      iceCandidates: [
        {
          foundation: 'f',
          priority: 1,
          address: '127.0.0.1',
          ip: '127.0.0.1',
          protocol: 'udp' as const,
          port: 40000,
          type: 'host' as const,
        },
      ],
      dtlsParameters: {
        role: 'auto' as const,
        fingerprints: [{ algorithm: 'sha-256' as const, value: 'AB:CD' }],
      },
    };
    expect(
      parseContent(contentElement({ name: 'audio', transport: transportElement(transport) }))
        .transport,
    ).toEqual({
      ufrag: 'u',
      pwd: 'p',
      fingerprints: [{ hash: 'sha-256', setup: 'actpass', value: 'AB:CD' }],
      candidates: transport.iceCandidates,
    });
  });

  it('refuses contents that do not read', () => {
    const bad = (xml: string) => () => parseContent(parse(xml) as Element);
    const rtp = `xmlns='${JINGLE.rtp}'`;
    const ssma = `xmlns='${JINGLE.sources}'`;
    expect(bad(`<content/>`)).toThrow(JingleMappingError);
    expect(bad(`<content name='a'><description ${rtp} media='text'/></content>`)).toThrow(
      JingleMappingError,
    );
    expect(
      bad(
        `<content name='a'><description ${rtp} media='audio'><source ${ssma} ssrc='-1'/></description></content>`,
      ),
    ).toThrow(JingleMappingError);
    expect(
      bad(
        `<content name='a'><description ${rtp} media='audio'><payload-type id='300' name='opus' clockrate='48000'/></description></content>`,
      ),
    ).toThrow(JingleMappingError);
    expect(
      bad(
        `<content name='a'><description ${rtp} media='video'><ssrc-group ${ssma} semantics='FID'/></description></content>`,
      ),
    ).toThrow(JingleMappingError);
    expect(() => dtlsParametersOf(undefined)).toThrow(JingleMappingError);
    const noCodec = { ...accept[0].description!, codecs: [] };
    expect(() => producerRtpParameters(noCodec, [{ ssrc: 1 }], table)).toThrow(JingleMappingError);
  });
});
