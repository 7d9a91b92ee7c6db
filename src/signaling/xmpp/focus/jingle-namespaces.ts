/** Namespaces of Jingle (XEP-0166 and its RTP extensions) and of Jitsi's focus. */
export const JINGLE = {
  base: 'urn:xmpp:jingle:1',
  errors: 'urn:xmpp:jingle:errors:1',
  rtp: 'urn:xmpp:jingle:apps:rtp:1',
  /** XEP-0293 RTCP feedback. */
  rtcpFb: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  /** XEP-0294 RTP header extensions. */
  hdrext: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  /** XEP-0339 source-specific media attributes. */
  sources: 'urn:xmpp:jingle:apps:rtp:ssma:0',
  iceUdp: 'urn:xmpp:jingle:transports:ice-udp:1',
  dtls: 'urn:xmpp:jingle:apps:dtls:0',
  /** XEP-0338 grouping (BUNDLE). */
  grouping: 'urn:xmpp:jingle:apps:grouping:0',
  /** Jitsi's `<ssrc-info owner=.../>` in a source: which occupant sends it. */
  jitmeet: 'http://jitsi.org/jitmeet',
  focus: 'http://jitsi.org/protocol/focus',
  /** `<web-socket url=.../>` in a transport: where the client opens the bridge channel. */
  colibri: 'http://jitsi.org/protocol/colibri',
  /** XEP-0215 external service discovery (TURN credentials). */
  extdisco: 'urn:xmpp:extdisco:2',
} as const;
