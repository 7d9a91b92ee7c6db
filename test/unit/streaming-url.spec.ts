import { redactedStreamingUrl, streamingUrlProblem } from '../../src/recording/streaming-url';

describe('streaming URLs', () => {
  it('accepts rtmp:// and rtmps:// URLs with a host and a path', () => {
    expect(streamingUrlProblem('rtmp://live.example.org/app/key-123')).toBeUndefined();
    expect(streamingUrlProblem('rtmps://live.example.org:443/app/key?x=1')).toBeUndefined();
  });

  it('refuses other protocols, missing parts, spaces, control characters and long URLs', () => {
    for (const url of [
      'file:///etc/passwd',
      'http://example.org/app/key',
      'RTMPT://example.org/app/key',
      'rtmp://',
      'rtmp://host',
      'rtmp://host/',
      'rtmp://host/app/key with space',
      'rtmp://host/app/key\n-f',
      `rtmp://host/app/${'k'.repeat(1100)}`,
      '',
      42,
      undefined,
    ]) {
      expect({ url, problem: typeof streamingUrlProblem(url) }).toEqual({ url, problem: 'string' });
    }
  });

  it('shows the URL without credentials and stream key', () => {
    expect(redactedStreamingUrl('rtmp://user:pass@live.example.org:1935/app/secret')).toBe(
      'rtmp://live.example.org:1935/app/…',
    );
  });
});
