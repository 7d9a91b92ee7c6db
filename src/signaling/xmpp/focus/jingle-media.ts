/**
 * Jingle RTP contents (XEP-0166/0167 with XEP-0176 ICE, XEP-0320 DTLS, XEP-0293
 * feedback, XEP-0294 header extensions, XEP-0339 sources) to and from mediasoup's
 * parameters, as Jitsi's focus and lib-jitsi-meet speak them: one `audio` and one
 * `video` content on one bundled transport, each listing the sources of its kind.
 *
 * The payload types and header extension ids of every content come from one table, a
 * subset of the router's capabilities (focusCapabilities): the offer names them, the
 * client answers with them, its producers send with them and consumers are made for them.
 */
import { Element } from 'ltx';
import type { types } from 'mediasoup';
import { JINGLE } from './jingle-namespaces';

export type MediaKind = 'audio' | 'video';
export const MEDIA_KINDS: readonly MediaKind[] = ['audio', 'video'];

/** A Jingle request that cannot be mapped: answered with bad-request and this text. */
export class JingleMappingError extends Error {}

/** Header extensions the focus offers. MID and RIDs are left out: lib-jitsi-meet renumbers m-lines and signals SSRCs. */
const OFFERED_HEADER_EXTENSIONS = new Set([
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
]);

/** Opus and VP8 (with its RTX) of the router, and the header extensions above. */
export function focusCapabilities(router: types.RtpCapabilities): types.RtpCapabilities {
  const codecs = router.codecs ?? [];
  const opus = codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
  const vp8 = codecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
  if (!opus || !vp8) throw new Error('the router offers no Opus or no VP8');
  const vp8Rtx = codecs.find(
    (c) =>
      c.mimeType.toLowerCase() === 'video/rtx' && c.parameters?.apt === vp8.preferredPayloadType,
  );
  return {
    codecs: [opus, vp8, ...(vp8Rtx ? [vp8Rtx] : [])],
    headerExtensions: (router.headerExtensions ?? []).filter((ext) =>
      OFFERED_HEADER_EXTENSIONS.has(ext.uri),
    ),
  };
}

/** A source (SSRC) as Jingle signals it. */
export interface JingleSource {
  ssrc: number;
  /** lib-jitsi-meet's source name, `<endpoint>-a0`, `<endpoint>-v0` ... */
  name?: string;
  msid?: string;
  cname?: string;
  /** `<room>@<muc>/<nick>` of the occupant sending it. */
  owner?: string;
  videoType?: string;
}

export interface JingleSsrcGroup {
  /** SIM (simulcast layers, lowest first) or FID (a stream and its retransmissions). */
  semantics: string;
  ssrcs: number[];
}

export interface JingleTransport {
  ufrag: string;
  pwd: string;
  fingerprints: { hash: string; setup: string; value: string }[];
  candidates: types.IceCandidate[];
}

/** One content's RTP description. */
export interface JingleDescription {
  kind: MediaKind;
  codecs: types.RtpCodecParameters[];
  headerExtensions: { id: number; uri: string }[];
  sources: JingleSource[];
  groups: JingleSsrcGroup[];
}

export interface JingleContent {
  name: string;
  senders?: string;
  description?: JingleDescription;
  transport?: JingleTransport;
}

// --- rendering ---

/** The codecs and header extensions of `kind` in the table, as Jingle RTP parameters. */
export function offeredDescription(
  kind: MediaKind,
  table: types.RtpCapabilities,
  sources: JingleSource[] = [],
  groups: JingleSsrcGroup[] = [],
): JingleDescription {
  return {
    kind,
    codecs: (table.codecs ?? [])
      .filter((codec) => codec.kind === kind)
      .map((codec) => ({
        mimeType: codec.mimeType,
        payloadType: codec.preferredPayloadType!,
        clockRate: codec.clockRate,
        ...(codec.channels !== undefined && { channels: codec.channels }),
        parameters: codec.parameters ?? {},
        rtcpFeedback: (codec.rtcpFeedback ?? []).map(({ type, parameter }) =>
          parameter ? { type, parameter } : { type },
        ),
      })),
    headerExtensions: (table.headerExtensions ?? [])
      .filter((ext) => ext.kind === kind)
      .map((ext) => ({ id: ext.preferredId, uri: ext.uri })),
    sources,
    groups,
  };
}

export function descriptionElement(description: JingleDescription): Element {
  const element = new Element('description', { xmlns: JINGLE.rtp, media: description.kind });
  for (const codec of description.codecs) {
    const payloadType = element.c('payload-type', {
      id: String(codec.payloadType),
      name: codec.mimeType.split('/')[1],
      clockrate: String(codec.clockRate),
    });
    if (codec.channels && codec.channels > 1) payloadType.attrs.channels = String(codec.channels);
    for (const [name, value] of Object.entries(codec.parameters ?? {}))
      payloadType.c('parameter', { name, value: String(value) });
    for (const fb of codec.rtcpFeedback ?? []) {
      const feedback = payloadType.c('rtcp-fb', { xmlns: JINGLE.rtcpFb, type: fb.type });
      if (fb.parameter) feedback.attrs.subtype = fb.parameter;
    }
  }
  for (const ext of description.headerExtensions)
    element.c('rtp-hdrext', { xmlns: JINGLE.hdrext, id: String(ext.id), uri: ext.uri });
  element.c('rtcp-mux');
  element.children.push(...sourceElements(description.sources, description.groups));
  return element;
}

/** `<source/>` and `<ssrc-group/>` elements (for descriptions, source-add and source-remove). */
export function sourceElements(sources: JingleSource[], groups: JingleSsrcGroup[]): Element[] {
  const elements: Element[] = [];
  for (const source of sources) {
    const element = new Element('source', { xmlns: JINGLE.sources, ssrc: String(source.ssrc) });
    if (source.name) element.attrs.name = source.name;
    if (source.videoType) element.attrs.videoType = source.videoType;
    if (source.cname) element.c('parameter', { name: 'cname', value: source.cname });
    if (source.msid) element.c('parameter', { name: 'msid', value: source.msid });
    if (source.owner) element.c('ssrc-info', { xmlns: JINGLE.jitmeet, owner: source.owner });
    elements.push(element);
  }
  for (const group of groups) {
    const element = new Element('ssrc-group', {
      xmlns: JINGLE.sources,
      semantics: group.semantics,
    });
    for (const ssrc of group.ssrcs) element.c('source', { ssrc: String(ssrc) });
    elements.push(element);
  }
  return elements;
}

/**
 * mediasoup's ICE and DTLS parameters as a Jingle ICE-UDP transport (the focus offers
 * actpass), with the bridge channel's WebSocket URL when there is one.
 */
export function transportElement(
  transport: {
    iceParameters: types.IceParameters;
    iceCandidates: types.IceCandidate[];
    dtlsParameters: types.DtlsParameters;
  },
  bridgeChannelUrl?: string,
): Element {
  const element = new Element('transport', {
    xmlns: JINGLE.iceUdp,
    ufrag: transport.iceParameters.usernameFragment,
    pwd: transport.iceParameters.password,
  });
  if (bridgeChannelUrl) element.c('web-socket', { xmlns: JINGLE.colibri, url: bridgeChannelUrl });
  for (const fingerprint of transport.dtlsParameters.fingerprints)
    if (fingerprint.algorithm === 'sha-256')
      element
        .c('fingerprint', { xmlns: JINGLE.dtls, hash: fingerprint.algorithm, setup: 'actpass' })
        .t(fingerprint.value.toUpperCase());
  transport.iceCandidates.forEach((candidate, index) => {
    const attrs: Record<string, string> = {
      component: '1',
      foundation: candidate.foundation,
      generation: '0',
      id: `c${index}`,
      ip: candidate.address,
      port: String(candidate.port),
      priority: String(candidate.priority),
      protocol: candidate.protocol,
      type: candidate.type,
      network: '0',
    };
    if (candidate.tcpType) attrs.tcptype = candidate.tcpType;
    element.c('candidate', attrs);
  });
  return element;
}

export function contentElement(content: {
  name: string;
  senders?: string;
  description?: JingleDescription;
  transport?: Element;
}): Element {
  const element = new Element('content', { creator: 'initiator', name: content.name });
  if (content.senders) element.attrs.senders = content.senders;
  if (content.description) element.cnode(descriptionElement(content.description));
  if (content.transport) element.cnode(content.transport);
  return element;
}

// --- parsing ---

const integer = (value: unknown, what: string, max = 0xffffffff): number => {
  const text = typeof value === 'string' ? value : '';
  const number = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(number >= 0 && number <= max)) throw new JingleMappingError(`bad ${what}: ${text}`);
  return number;
};

const text = (value: unknown, what: string, maxLength = 256): string => {
  if (typeof value !== 'string' || value === '' || value.length > maxLength)
    throw new JingleMappingError(`missing or bad ${what}`);
  return value;
};

/** The `<content/>` children of a `<jingle/>`; throws JingleMappingError when one does not read. */
export function parseContents(jingle: Element): JingleContent[] {
  return jingle.getChildren('content').map(parseContent);
}

export function parseContent(content: Element): JingleContent {
  const name = text(content.attrs.name, 'content name', 64);
  const senders = content.attrs.senders as string | undefined;
  const descriptionElement = content.getChild('description', JINGLE.rtp);
  const transportElement = content.getChild('transport', JINGLE.iceUdp);
  return {
    name,
    senders,
    description: descriptionElement && parseDescription(descriptionElement),
    transport: transportElement && parseTransport(transportElement),
  };
}

export function parseDescription(element: Element): JingleDescription {
  const kind = element.attrs.media as string;
  if (kind !== 'audio' && kind !== 'video') throw new JingleMappingError(`bad media: ${kind}`);
  const codecs = element.getChildren('payload-type').map((payloadType) => {
    const channels = payloadType.attrs.channels as string | undefined;
    const parameters: Record<string, string | number> = {};
    for (const parameter of payloadType.getChildren('parameter')) {
      const value = String(parameter.attrs.value ?? '');
      parameters[text(parameter.attrs.name, 'parameter name', 64)] = /^\d{1,9}$/.test(value)
        ? Number(value)
        : value;
    }
    return {
      mimeType: `${kind}/${text(payloadType.attrs.name, 'codec name', 32)}`,
      payloadType: integer(payloadType.attrs.id, 'payload type', 127),
      clockRate: integer(payloadType.attrs.clockrate, 'clock rate'),
      ...(channels !== undefined && { channels: integer(channels, 'channels', 8) }),
      parameters,
      rtcpFeedback: payloadType.getChildren('rtcp-fb', JINGLE.rtcpFb).map((fb) => ({
        type: text(fb.attrs.type, 'feedback type', 32),
        ...(fb.attrs.subtype && { parameter: String(fb.attrs.subtype) }),
      })),
    };
  });
  const headerExtensions = element.getChildren('rtp-hdrext', JINGLE.hdrext).map((ext) => ({
    id: integer(ext.attrs.id, 'header extension id', 255),
    uri: text(ext.attrs.uri, 'header extension uri'),
  }));
  const sources = element.getChildren('source', JINGLE.sources).map(parseSource);
  const groups = element.getChildren('ssrc-group', JINGLE.sources).map(parseGroup);
  return { kind, codecs, headerExtensions, sources, groups };
}

export function parseSource(element: Element): JingleSource {
  const source: JingleSource = { ssrc: integer(element.attrs.ssrc, 'ssrc') };
  if (typeof element.attrs.name === 'string')
    source.name = text(element.attrs.name, 'source name', 128);
  if (typeof element.attrs.videoType === 'string') source.videoType = element.attrs.videoType;
  for (const parameter of element.getChildren('parameter')) {
    const { name, value } = parameter.attrs as { name?: string; value?: string };
    if (name === 'msid' || name === 'cname') source[name] = text(value, name);
  }
  const owner = element.getChild('ssrc-info', JINGLE.jitmeet)?.attrs.owner;
  if (typeof owner === 'string') source.owner = owner;
  return source;
}

export function parseGroup(element: Element): JingleSsrcGroup {
  const ssrcs = element.getChildren('source').map((s) => integer(s.attrs.ssrc, 'ssrc'));
  if (!ssrcs.length) throw new JingleMappingError('an empty ssrc-group');
  return { semantics: text(element.attrs.semantics, 'group semantics', 16), ssrcs };
}

export function parseTransport(element: Element): JingleTransport {
  return {
    ufrag: String(element.attrs.ufrag ?? ''),
    pwd: String(element.attrs.pwd ?? ''),
    fingerprints: element.getChildren('fingerprint', JINGLE.dtls).map((fingerprint) => ({
      hash: text(fingerprint.attrs.hash, 'fingerprint hash', 16).toLowerCase(),
      setup: String(fingerprint.attrs.setup ?? 'active'),
      value: text(fingerprint.text().trim(), 'fingerprint'),
    })),
    candidates: element.getChildren('candidate').map((candidate) => ({
      foundation: text(candidate.attrs.foundation, 'candidate foundation', 64),
      priority: integer(candidate.attrs.priority, 'candidate priority'),
      address: text(candidate.attrs.ip, 'candidate ip', 64),
      ip: text(candidate.attrs.ip, 'candidate ip', 64),
      protocol: candidate.attrs.protocol === 'tcp' ? 'tcp' : 'udp',
      port: integer(candidate.attrs.port, 'candidate port', 65535),
      type: 'host',
    })),
  };
}

// --- to mediasoup ---

/** The client's DTLS parameters from its answer (setup active: it is the DTLS client). */
export function dtlsParametersOf(transport: JingleTransport | undefined): types.DtlsParameters {
  const fingerprint = transport?.fingerprints[0];
  if (!fingerprint) throw new JingleMappingError('the answer has no DTLS fingerprint');
  const algorithm = fingerprint.hash as types.FingerprintAlgorithm;
  if (!['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'].includes(algorithm))
    throw new JingleMappingError(`unsupported fingerprint hash ${fingerprint.hash}`);
  const role = fingerprint.setup === 'passive' ? 'server' : 'client';
  return { role, fingerprints: [{ algorithm, value: fingerprint.value }] };
}

/**
 * The sending streams a description's sources form: one per SSRC not in another's
 * group, with its simulcast layers (SIM, lowest first) and their retransmission SSRCs
 * (FID). Each becomes one producer.
 */
export function sendingStreams(description: Pick<JingleDescription, 'sources' | 'groups'>) {
  const rtxOf = new Map<number, number>();
  for (const group of description.groups)
    if (group.semantics === 'FID' && group.ssrcs.length === 2)
      rtxOf.set(group.ssrcs[0], group.ssrcs[1]);
  const rtxSsrcs = new Set(rtxOf.values());
  const inSimulcast = new Map<number, number[]>();
  for (const group of description.groups)
    if (group.semantics === 'SIM')
      for (const ssrc of group.ssrcs) inSimulcast.set(ssrc, group.ssrcs);
  const streams: { source: JingleSource; encodings: types.RtpEncodingParameters[] }[] = [];
  const taken = new Set<number>();
  for (const source of description.sources) {
    if (rtxSsrcs.has(source.ssrc) || taken.has(source.ssrc)) continue;
    const layers = inSimulcast.get(source.ssrc) ?? [source.ssrc];
    for (const ssrc of layers) taken.add(ssrc);
    streams.push({
      source,
      encodings: layers.map((ssrc) => {
        const rtx = rtxOf.get(ssrc);
        return rtx === undefined ? { ssrc } : { ssrc, rtx: { ssrc: rtx } };
      }),
    });
  }
  return streams;
}

/**
 * The RTP parameters of a producer of the client's answer: the offered codecs it kept
 * (with their RTX when it has retransmission SSRCs) and header extensions.
 */
export function producerRtpParameters(
  description: JingleDescription,
  encodings: types.RtpEncodingParameters[],
  table: types.RtpCapabilities,
): types.RtpParameters {
  const offered = new Set((table.codecs ?? []).map((c) => c.preferredPayloadType));
  const withRtx = encodings.some((e) => e.rtx);
  const codecs = description.codecs.filter(
    (codec) =>
      offered.has(codec.payloadType) && (withRtx || !codec.mimeType.toLowerCase().endsWith('/rtx')),
  );
  if (!codecs.some((c) => !c.mimeType.toLowerCase().endsWith('/rtx')))
    throw new JingleMappingError(`no offered ${description.kind} codec in the answer`);
  const uris = new Set<string>((table.headerExtensions ?? []).map((ext) => ext.uri));
  return {
    codecs,
    headerExtensions: description.headerExtensions.filter(
      (ext): ext is types.RtpHeaderExtensionParameters => uris.has(ext.uri),
    ),
    encodings,
    rtcp: { reducedSize: true },
  };
}

/** What a consumer sends the client, as the sources it signals to it. */
export function consumerSources(
  rtpParameters: types.RtpParameters,
  named: { name: string; msid: string; owner: string; videoType?: string },
): { sources: JingleSource[]; groups: JingleSsrcGroup[] } {
  const encoding = rtpParameters.encodings?.[0];
  if (encoding?.ssrc === undefined) return { sources: [], groups: [] };
  const signalled = { ...named, cname: rtpParameters.rtcp?.cname };
  const sources: JingleSource[] = [{ ssrc: encoding.ssrc, ...signalled }];
  const groups: JingleSsrcGroup[] = [];
  if (encoding.rtx?.ssrc !== undefined) {
    sources.push({ ssrc: encoding.rtx.ssrc, ...signalled });
    groups.push({ semantics: 'FID', ssrcs: [encoding.ssrc, encoding.rtx.ssrc] });
  }
  return { sources, groups };
}
