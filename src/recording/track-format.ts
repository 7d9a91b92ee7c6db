import type { types } from 'mediasoup';

/** The container a codec is written to without transcoding, and ffmpeg's muxer for it. */
export interface TrackFormat {
  extension: 'ogg' | 'webm' | 'mkv';
  muxer: 'ogg' | 'webm' | 'matroska';
}

const FORMATS: Record<string, TrackFormat> = {
  'audio/opus': { extension: 'ogg', muxer: 'ogg' },
  'video/vp8': { extension: 'webm', muxer: 'webm' },
  'video/vp9': { extension: 'webm', muxer: 'webm' },
  'video/h264': { extension: 'mkv', muxer: 'matroska' },
};

export function trackFormatOf(mimeType: string): TrackFormat | undefined {
  return FORMATS[mimeType.toLowerCase()];
}

/**
 * What a recorder tells mediasoup it can receive: the router's media codecs, without
 * retransmissions (RTX), RTCP feedback or header extensions, none of which ffmpeg reads.
 * Keyframes are asked for by the recorder itself.
 */
export function recorderRtpCapabilities(router: types.RtpCapabilities): types.RtpCapabilities {
  return {
    codecs: (router.codecs ?? [])
      .filter((codec) => trackFormatOf(codec.mimeType))
      .map((codec) => ({ ...codec, rtcpFeedback: [] })),
    headerExtensions: [],
  };
}

/**
 * The SDP ffmpeg reads to receive one consumer's RTP on 127.0.0.1:port, accepting
 * packets from 127.0.0.1 only.
 */
export function sdpFor(
  kind: types.MediaKind,
  rtpParameters: types.RtpParameters,
  port: number,
): string {
  const codec = rtpParameters.codecs[0];
  const name = codec.mimeType.split('/')[1];
  const channels = codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
  const fmtp = Object.entries(codec.parameters ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(';');
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=video-window recording',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=${kind} ${port} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`,
    ...(fmtp ? [`a=fmtp:${codec.payloadType} ${fmtp}`] : []),
    'a=source-filter: incl IN IP4 127.0.0.1 127.0.0.1',
    'a=recvonly',
    '',
  ].join('\r\n');
}
