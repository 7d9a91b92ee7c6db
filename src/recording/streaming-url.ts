/** The longest RTMP URL accepted (stream keys are far shorter). */
export const MAX_STREAMING_URL_LENGTH = 1024;

/**
 * An rtmp:// or rtmps:// URL with a host and a path, printable ASCII without spaces:
 * nothing else reaches ffmpeg (no file:, no other protocol, no option smuggled in).
 * Undefined when it is fine, else what is wrong.
 */
export function streamingUrlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string' || !url) return 'url must be an rtmp:// or rtmps:// URL';
  if (url.length > MAX_STREAMING_URL_LENGTH) {
    return `url must be at most ${MAX_STREAMING_URL_LENGTH} characters`;
  }
  if (!/^[\x21-\x7e]+$/.test(url)) return 'url must be printable ASCII without spaces';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'url is not a URL';
  }
  if (parsed.protocol !== 'rtmp:' && parsed.protocol !== 'rtmps:') {
    return 'url must be an rtmp:// or rtmps:// URL';
  }
  if (!parsed.hostname) return 'url must name a host';
  if (parsed.pathname.length < 2) return 'url must name an application and a stream key';
  return undefined;
}

/** The URL as logs and the API show it: no credentials, the stream key replaced by "…". */
export function redactedStreamingUrl(url: string): string {
  const { protocol, host, pathname } = new URL(url);
  const path = pathname.split('/').slice(0, -1).join('/');
  return `${protocol}//${host}${path}/…`;
}
