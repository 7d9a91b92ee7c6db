import type { types } from 'mediasoup';
import { compositeArguments } from '../../src/recording/composite';
import type { RecordingInfo } from '../../src/recording/recording-info';
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

describe('the composite', () => {
  const track = (file: string, kind: 'audio' | 'video', startedAt: string) => ({
    file,
    kind,
    source: kind === 'audio' ? 'mic' : 'camera',
    codec: kind === 'audio' ? 'audio/opus' : 'video/VP8',
    participant: { id: file },
    startedAt,
  });

  it('tiles three videos in a 2x2 grid at their offsets and mixes the audio', () => {
    const info: RecordingInfo = {
      id: 'r',
      room: 'room',
      shard: 's',
      state: 'finished',
      startedBy: 'admin',
      startedAt: '2026-12-03T10:00:00.000Z',
      durationSeconds: 30,
      tracks: [
        track('a.webm', 'video', '2026-12-03T10:00:00.000Z'),
        track('a.ogg', 'audio', '2026-12-03T10:00:00.000Z'),
        track('b.webm', 'video', '2026-12-03T10:00:05.000Z'),
        track('c.webm', 'video', '2026-12-03T10:00:10.500Z'),
      ],
    };
    const args = compositeArguments(info, '/rec');
    const graph = args[args.indexOf('-filter_complex') + 1].split(';');
    expect(args.filter((arg, i) => args[i - 1] === '-i')).toEqual([
      '/rec/a.webm',
      '/rec/b.webm',
      '/rec/c.webm',
      '/rec/a.ogg',
    ]);
    expect(graph[0]).toBe('color=c=black:s=1280x720:r=15:d=30[base0]');
    expect(graph).toContain(
      '[1:v]setpts=PTS-STARTPTS+5/TB,scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2[tile1]',
    );
    expect(graph).toContain('[base1][tile1]overlay=640:0:eof_action=pass[base2]');
    expect(graph).toContain('[base2][tile2]overlay=0:360:eof_action=pass[base3]');
    expect(graph).toContain('[3:a]adelay=0:all=1[voice0]');
    expect(graph).toContain('[voice0]amix=inputs=1:duration=longest:normalize=0[mix]');
    expect(args.slice(-1)).toEqual(['/rec/composite.mp4']);
  });
});
