import type { types } from 'mediasoup';
import { gridOf } from '../../src/recording/composite-layout';
import { recorderRtpCapabilities, sdpFor, trackFormatOf } from '../../src/recording/track-format';

describe('track formats', () => {
  it('writes each codec to its container without transcoding', () => {
    expect(trackFormatOf('audio/opus')).toEqual({ extension: 'ogg', muxer: 'ogg' });
    expect(trackFormatOf('video/VP8')).toEqual({ extension: 'webm', muxer: 'webm' });
    expect(trackFormatOf('video/VP9')).toEqual({ extension: 'webm', muxer: 'webm' });
    expect(trackFormatOf('video/H264')).toEqual({ extension: 'mkv', muxer: 'matroska' });
    expect(trackFormatOf('video/AV1')).toBeUndefined();
  });

  it('asks mediasoup for the recordable codecs only, without RTX or feedback', () => {
    const router: types.RtpCapabilities = {
      codecs: [
        {
          kind: 'audio',
          mimeType: 'audio/opus',
          preferredPayloadType: 100,
          clockRate: 48000,
          channels: 2,
          rtcpFeedback: [{ type: 'transport-cc' }],
        },
        {
          kind: 'video',
          mimeType: 'video/VP8',
          preferredPayloadType: 101,
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }],
        },
        {
          kind: 'video',
          mimeType: 'video/rtx',
          preferredPayloadType: 102,
          clockRate: 90000,
          parameters: { apt: 101 },
        },
      ],
      headerExtensions: [{ kind: 'video', uri: 'urn:3gpp:video-orientation', preferredId: 4 }],
    };
    const caps = recorderRtpCapabilities(router);
    expect(caps.codecs!.map((c) => c.mimeType)).toEqual(['audio/opus', 'video/VP8']);
    expect(caps.codecs!.every((c) => c.rtcpFeedback!.length === 0)).toBe(true);
    expect(caps.headerExtensions).toEqual([]);
  });

  it('describes one consumer to ffmpeg: port, payload type, codec, parameters, source filter', () => {
    const sdp = sdpFor(
      'video',
      {
        codecs: [
          {
            mimeType: 'video/H264',
            payloadType: 107,
            clockRate: 90000,
            parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' },
          },
        ],
        encodings: [{ ssrc: 1234 }],
      },
      40000,
    );
    expect(sdp.split('\r\n')).toEqual([
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=video-window recording',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 40000 RTP/AVP 107',
      'a=rtpmap:107 H264/90000',
      'a=fmtp:107 packetization-mode=1;profile-level-id=42e01f',
      'a=source-filter: incl IN IP4 127.0.0.1 127.0.0.1',
      'a=recvonly',
      '',
    ]);
    const opus = sdpFor(
      'audio',
      { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }] },
      40002,
    );
    expect(opus).toContain('a=rtpmap:100 opus/48000/2\r\n');
    expect(opus).not.toContain('a=fmtp');
  });
});

describe('the composite grid', () => {
  it('lays videos out row by row in a grid as square as it gets, in even sizes', () => {
    expect(gridOf(1)).toEqual([{ x: 0, y: 0, width: 1280, height: 720 }]);
    expect(gridOf(2)).toEqual([
      { x: 0, y: 0, width: 640, height: 720 },
      { x: 640, y: 0, width: 640, height: 720 },
    ]);
    expect(gridOf(3).map(({ x, y }) => [x, y])).toEqual([
      [0, 0],
      [640, 0],
      [0, 360],
    ]);
    expect(gridOf(5)[4]).toEqual({ x: 426, y: 360, width: 426, height: 360 });
    expect(gridOf(0)).toEqual([]);
  });
});
