import { Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { ConferenceService } from '../../../conference/conference.service';
import { DomainError } from '../../../conference/domain-error';
import { Participant } from '../../../conference/participant';
import { MediaService } from '../../../media/media.service';
import { MediaSession } from '../../../media/media-session';
import { ProducerInfo } from '../../../media/media-events';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { errorReply } from '../core/stanza-errors';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { ServiceDiscovery } from '../disco/service-discovery';
import { MUC } from '../muc/muc-namespaces';
import { MucRoom, Occupant } from '../muc/muc-room';
import { MultiUserChat } from '../muc/muc.handler';
import { ServiceOccupant } from '../muc/service-occupant';
import {
  consumerSources,
  contentElement,
  dtlsParametersOf,
  focusCapabilities,
  JingleDescription,
  JingleMappingError,
  JingleSource,
  JingleSsrcGroup,
  MEDIA_KINDS,
  MediaKind,
  offeredDescription,
  parseContents,
  producerRtpParameters,
  sendingStreams,
  sourceElements,
  transportElement,
} from './jingle-media';
import { JINGLE } from './jingle-namespaces';
import { ColibriBridge } from './colibri-bridge';

const FOCUS_NICK = 'focus';
/** How long the focus waits for a client's answer to its Jingle requests. */
const IQ_TIMEOUT_MS = 15_000;

/** A source of another participant as the focus signalled it to an endpoint. */
interface Signalled {
  kind: MediaKind;
  sources: JingleSource[];
  groups: JingleSsrcGroup[];
}

/** A stream of another participant an endpoint receives. */
interface Received extends Signalled {
  producerId: string;
  /** The sender's endpoint id (its occupant nick) and the source name signalled. */
  owner: string;
  name: string;
}

/** One Jitsi client in one room: its Jingle session and its sendrecv transport. */
interface Endpoint {
  participantId: string;
  roomId: string;
  /** `<room>@conference.<domain>` */
  roomJid: string;
  session: XmppSession;
  sid: string;
  accepted: boolean;
  media?: MediaSession;
  table?: types.RtpCapabilities;
  transportId?: string;
  /** Others' streams it receives, by consumer id. */
  consumers: Map<string, Received>;
  /** What its presence last said of its microphone and camera. */
  muted: Partial<Record<MediaKind, boolean>>;
  /** What its presence last said its video is: a camera, or a shared screen (desktop). */
  videoType: 'camera' | 'desktop';
  /** Its own streams, by the SSRC of their first layer. */
  producers: Map<number, OwnProducer>;
  /** Its Jingle work, one step after the other. */
  work: Promise<unknown>;
}

/** A stream a Jitsi client sends: its producer, and how to make it again. */
interface OwnProducer {
  id: string;
  kind: MediaKind;
  source: string;
  rtpParameters: types.RtpParameters;
  name?: string;
  /** Whether its Jingle source said camera or desktop itself (newer clients); else presence says. */
  typed: boolean;
}

/** What the Jitsi client who sends a producer called its source. */
interface SourceName {
  name: string;
  videoType?: string;
}

/** `<SourceInfo>` of Jitsi presence: each source's state, by source name (JSON). */
function sourceInfoOf(
  presence: Element | undefined,
): Record<string, { videoType?: unknown } | undefined> | undefined {
  const text = presence?.getChildText('SourceInfo');
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, never>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The conference focus Jitsi Meet clients (lib-jitsi-meet) expect, Jicofo style: they
 * ask focus.<domain> for the conference, find its occupant `<room>/focus` in the MUC
 * room, and get a Jingle session from it. Each session is one sendrecv transport of the
 * participant's media session: the client's sources become producers, everyone else's
 * producers consumers it is told of with source-add and source-remove.
 */
@Injectable()
export class JitsiFocus implements OnModuleInit, ServiceOccupant {
  readonly nick = FOCUS_NICK;
  readonly domain: string;
  /** The focus's own (bare) JID, which Jitsi clients check the focus occupant by. */
  readonly jid: string;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly sourceNames = new Map<string, SourceName>();
  private readonly pending = new Map<string, (reply: Element) => void>();

  constructor(
    private readonly router: StanzaRouter,
    private readonly disco: ServiceDiscovery,
    private readonly muc: MultiUserChat,
    private readonly conference: ConferenceService,
    private readonly mediaService: MediaService,
    private readonly bridge: ColibriBridge,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.domain = `focus.${router.domain}`;
    this.jid = `focus@${this.domain}`;
  }

  onModuleInit(): void {
    this.disco.addItem(this.domain, 'Conference focus');
    this.router.handleDomain(this.domain, (stanza, origin) => this.toFocus(stanza, origin));
    this.muc.useServiceOccupant(this);
    this.conference.events.on('participantLeft', (participant) => this.left(participant));
    const media = this.mediaService.events;
    media.on('producerAdded', (roomId, producer) => this.produced(roomId, producer));
    media.on('producerClosed', (_roomId, producer) => this.sourceNames.delete(producer.id));
    media.on('consumerClosed', (_roomId, participantId, consumerId) =>
      this.consumerClosed(participantId, consumerId),
    );
  }

  // --- focus.<domain>: the conference request ---

  private toFocus(stanza: Element, origin: XmppSession) {
    const type = stanza.attrs.type as string | undefined;
    if (stanza.name !== 'iq' || (type !== 'get' && type !== 'set')) return;
    const payload = stanza.getChildElements()[0];
    if (type === 'get' && payload.is('query', NS.discoInfo)) {
      const query = new Element('query', { xmlns: NS.discoInfo });
      query.c('identity', { category: 'conference', type: 'focus', name: 'Video Window focus' });
      query.c('feature', { var: JINGLE.focus });
      return this.router.reply(stanza, origin, query);
    }
    if (type !== 'set' || !payload.is('conference', JINGLE.focus))
      return this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
    const room = Jid.parse(String(payload.attrs.room ?? ''));
    if (!room?.local || room.domain !== this.muc.domain || room.resource)
      return this.router.bounce(
        stanza,
        origin,
        'modify',
        'bad-request',
        `room must be a room JID of ${this.muc.domain}`,
      );
    if (!origin.focusClient) {
      origin.focusClient = true;
      // The room's shard may be another one: its copy of the session learns it (before
      // the MUC join, which comes after this on the same bus).
      this.router.sessionChanged(origin);
    }
    const conference = new Element('conference', {
      xmlns: JINGLE.focus,
      ready: 'true',
      room: room.toString(),
      focusjid: this.jid,
    });
    conference.c('property', { name: 'authentication', value: 'false' });
    this.router.reply(stanza, origin, conference);
  }

  // --- the focus occupant ---

  serves(session: XmppSession): boolean {
    return session.focusClient;
  }

  presence(room: MucRoom): Element {
    const presence = new Element('presence', {
      xmlns: NS.client,
      from: `${room.jid}/${this.nick}`,
    });
    presence
      .c('x', { xmlns: MUC.user })
      .c('item', { affiliation: 'owner', role: 'moderator', jid: `${this.jid}/${this.nick}` });
    return presence;
  }

  entered(room: MucRoom, occupant: Occupant & { session: XmppSession }): void {
    const endpoint: Endpoint = {
      participantId: occupant.participant.id,
      roomId: room.roomId,
      roomJid: room.jid,
      session: occupant.session,
      sid: randomUUID(),
      accepted: false,
      consumers: new Map(),
      muted: {},
      videoType: 'camera',
      producers: new Map(),
      work: Promise.resolve(),
    };
    this.endpoints.set(endpoint.participantId, endpoint);
    this.readPresence(endpoint, occupant.presence);
    this.enqueue(endpoint, () => this.initiate(endpoint));
  }

  /**
   * Jitsi clients tell their mute state and video type in presence: their producers are
   * paused, and their video published as a camera or a screen, to match.
   */
  updated(_room: MucRoom, occupant: Occupant & { session: XmppSession }): void {
    const endpoint = this.endpoints.get(occupant.participant.id);
    if (!endpoint) return;
    this.readPresence(endpoint, occupant.presence);
    this.enqueue(endpoint, () => this.applyPresence(endpoint));
  }

  /**
   * `<audiomuted>true</audiomuted>`, `<videomuted>false</videomuted>`, and the video type:
   * `<SourceInfo>{"<nick>-v0":{"videoType":"desktop"}}</SourceInfo>` from clients with
   * source names, `<videoType>desktop</videoType>` from older ones.
   */
  private readPresence(endpoint: Endpoint, presence: Element | undefined) {
    for (const kind of MEDIA_KINDS) {
      const muted = presence?.getChildText(`${kind}muted`);
      if (muted === 'true' || muted === 'false') endpoint.muted[kind] = muted === 'true';
    }
    const sourceInfo = sourceInfoOf(presence);
    const nick = this.nickOf(endpoint);
    const videoType =
      (nick && sourceInfo?.[`${nick}-v0`]?.videoType) ?? presence?.getChildText('videoType');
    if (videoType === 'desktop' || videoType === 'camera') endpoint.videoType = videoType;
  }

  private async applyPresence(endpoint: Endpoint) {
    await this.applyVideoType(endpoint);
    for (const producer of endpoint.media?.producersOf() ?? []) {
      const muted = endpoint.muted[producer.kind];
      if (muted !== undefined && muted !== producer.paused)
        await endpoint.media!.setProducerPaused(producer.id, muted);
    }
  }

  iq(stanza: Element, origin: XmppSession, _room: MucRoom, occupant: Occupant | undefined) {
    const type = stanza.attrs.type as string;
    if (type === 'result' || type === 'error') {
      this.pending.get(`${origin.full} ${stanza.attrs.id}`)?.(stanza);
      return;
    }
    const endpoint = occupant && this.endpoints.get(occupant.participant.id);
    const jingle = stanza.getChild('jingle', JINGLE.base);
    if (!jingle || type !== 'set')
      return this.router.bounce(stanza, origin, 'cancel', 'feature-not-implemented');
    if (!endpoint || endpoint.session !== origin || jingle.attrs.sid !== endpoint.sid)
      return this.unknownSession(stanza, origin);
    const action = jingle.attrs.action as string;
    if (action === 'session-accept' && endpoint.accepted)
      return this.router.bounce(stanza, origin, 'cancel', 'conflict', 'the session was accepted');
    const handlers: Record<string, () => Promise<void>> = {
      'session-accept': () => this.accept(endpoint, jingle),
      'source-add': () => this.publish(endpoint, jingle),
      'source-remove': () => this.unpublish(endpoint, jingle),
      'transport-info': async () => undefined,
      'session-info': async () => undefined,
      'session-terminate': async () => this.terminated(endpoint),
    };
    const handler = Object.hasOwn(handlers, action) ? handlers[action] : undefined;
    if (!handler)
      return this.router.bounce(stanza, origin, 'cancel', 'feature-not-implemented', action);
    this.enqueue(endpoint, async () => {
      try {
        await handler();
        this.router.reply(stanza, origin);
      } catch (error) {
        const refusal = this.refusal(error);
        if (refusal === undefined) {
          this.router.bounce(stanza, origin, 'cancel', 'internal-server-error');
          throw error;
        }
        this.logger.info(
          { err: error, action, participantId: endpoint.participantId },
          'Jingle request refused',
        );
        this.router.bounce(stanza, origin, 'modify', 'bad-request', refusal);
      }
    });
  }

  // --- Jingle sessions ---

  private async initiate(endpoint: Endpoint) {
    const media = await this.conference.mediaOf(endpoint.participantId);
    endpoint.media = media;
    endpoint.table = focusCapabilities(media.rtpCapabilities);
    const transport = await media.createWebRtcTransport('sendrecv', false);
    endpoint.transportId = transport.id;
    const others = this.conference
      .participantsOf(endpoint.roomId)
      .filter((p) => p.id !== endpoint.participantId)
      .flatMap((p) => media.producersOf(p.id));
    const received = await Promise.all(others.map((producer) => this.consume(endpoint, producer)));
    const jingle = this.jingle(endpoint, 'session-initiate');
    jingle.attrs.initiator = this.occupantJid(endpoint);
    const { origin } = endpoint.session;
    const bridgeChannelUrl = origin ? this.openBridgeChannel(endpoint, media, origin) : undefined;
    const transportXml = transportElement(transport, bridgeChannelUrl);
    for (const kind of MEDIA_KINDS) {
      const mine = received.filter((s): s is Signalled => s?.kind === kind);
      const description = offeredDescription(
        kind,
        endpoint.table,
        mine.flatMap((s) => s.sources),
        mine.flatMap((s) => s.groups),
      );
      jingle.cnode(
        contentElement({ name: kind, senders: 'both', description, transport: transportXml }),
      );
    }
    const bundle = jingle.c('group', { xmlns: JINGLE.grouping, semantics: 'BUNDLE' });
    for (const kind of MEDIA_KINDS) bundle.c('content', { name: kind });
    const answer = await this.request(endpoint, jingle);
    if (answer?.attrs.type !== 'result')
      this.logger.warn(
        { participantId: endpoint.participantId, answer: answer?.toString() },
        'a Jitsi client did not take the session-initiate',
      );
  }

  private async accept(endpoint: Endpoint, jingle: Element) {
    const contents = parseContents(jingle);
    const dtlsParameters = dtlsParametersOf(contents.find((c) => c.transport)?.transport);
    await endpoint.media!.connectTransport(endpoint.transportId!, dtlsParameters);
    endpoint.accepted = true;
    await this.produce(
      endpoint,
      contents.flatMap((c) => (c.description ? [c.description] : [])),
    );
  }

  private async publish(endpoint: Endpoint, jingle: Element) {
    const contents = parseContents(jingle);
    await this.produce(
      endpoint,
      contents.flatMap((c) => (c.description ? [c.description] : [])),
    );
  }

  /** The client's new sending streams become producers. */
  private async produce(endpoint: Endpoint, descriptions: JingleDescription[]) {
    for (const description of descriptions) {
      for (const { source, encodings } of sendingStreams(description)) {
        const first = encodings[0].ssrc!;
        if (endpoint.producers.has(first)) continue;
        if (source.owner && Jid.parse(source.owner)?.resource !== this.nickOf(endpoint))
          throw new JingleMappingError(`source ${source.ssrc} is not yours`);
        const rtpParameters = producerRtpParameters(description, encodings, endpoint.table!);
        const kind = description.kind;
        const videoType = source.videoType ?? endpoint.videoType;
        const own: Omit<OwnProducer, 'id'> = {
          kind,
          source: kind === 'audio' ? 'mic' : videoType === 'desktop' ? 'screen' : 'camera',
          rtpParameters,
          name: source.name,
          typed: source.videoType !== undefined,
        };
        endpoint.producers.set(first, await this.publishProducer(endpoint, own));
      }
    }
    await this.applyPresence(endpoint);
  }

  /**
   * A client that shares its screen sends it in place of its camera (same SSRCs): its
   * producer is made again with the other source, so that the other doors show it as a
   * screen (or as a camera again), and every receiver gets a new consumer of it.
   */
  private async applyVideoType(endpoint: Endpoint) {
    const source = endpoint.videoType === 'desktop' ? 'screen' : 'camera';
    const media = endpoint.media;
    if (!media || !endpoint.transportId) return;
    for (const [ssrc, own] of [...endpoint.producers]) {
      if (own.kind !== 'video' || own.typed || own.source === source) continue;
      endpoint.producers.delete(ssrc);
      media.closeProducer(own.id);
      endpoint.producers.set(ssrc, await this.publishProducer(endpoint, { ...own, source }));
    }
  }

  private async publishProducer(
    endpoint: Endpoint,
    own: Omit<OwnProducer, 'id'>,
  ): Promise<OwnProducer> {
    const producer = await endpoint.media!.produce(
      endpoint.transportId!,
      own.kind,
      own.rtpParameters,
      own.source,
    );
    // Others' consumers read it once made, after this.
    if (own.name)
      this.sourceNames.set(producer.id, {
        name: own.name,
        videoType:
          own.kind === 'video' ? (own.source === 'screen' ? 'desktop' : 'camera') : undefined,
      });
    return { ...own, id: producer.id };
  }

  private async unpublish(endpoint: Endpoint, jingle: Element) {
    for (const content of parseContents(jingle))
      for (const source of content.description?.sources ?? []) {
        const own = endpoint.producers.get(source.ssrc);
        if (!own) continue;
        endpoint.producers.delete(source.ssrc);
        endpoint.media!.closeProducer(own.id);
      }
  }

  /** A consumer of `producer` for the endpoint, and the sources that signal it. */
  private async consume(
    endpoint: Endpoint,
    producer: ProducerInfo,
  ): Promise<Signalled | undefined> {
    const owner = this.muc.nickOf(endpoint.roomId, producer.participantId);
    if (!owner) return undefined;
    try {
      const consumer = await endpoint.media!.consume(
        endpoint.transportId!,
        producer.id,
        endpoint.table!,
        false,
      );
      const named = this.sourceNames.get(producer.id);
      const index = producer.source === 'screen' ? 1 : 0;
      const name = named?.name ?? `${owner}-${producer.kind === 'audio' ? 'a' : 'v'}${index}`;
      const signalled: Signalled = {
        kind: producer.kind,
        ...consumerSources(consumer.rtpParameters, {
          name,
          msid: `${name}-stream ${consumer.id}`,
          owner: `${endpoint.roomJid}/${owner}`,
          videoType:
            named?.videoType ??
            (producer.kind === 'video' ? (index ? 'desktop' : 'camera') : undefined),
        }),
      };
      endpoint.consumers.set(consumer.id, { ...signalled, producerId: producer.id, owner, name });
      return signalled;
    } catch (error) {
      if (this.refusal(error) === undefined) throw error;
      return undefined;
    }
  }

  /** Someone else published: each endpoint of the room is told of its consumer. */
  private produced(roomId: string, producer: ProducerInfo) {
    for (const endpoint of this.endpoints.values()) {
      if (endpoint.roomId !== roomId || endpoint.participantId === producer.participantId) continue;
      this.enqueue(endpoint, async () => {
        const known = [...endpoint.consumers.values()].some((c) => c.producerId === producer.id);
        if (known || !endpoint.media) return;
        const signalled = await this.consume(endpoint, producer);
        if (!signalled) return;
        this.bridge.refresh(endpoint.participantId);
        await this.sendSources(endpoint, 'source-add', signalled);
      });
    }
  }

  private consumerClosed(participantId: string, consumerId: string) {
    const endpoint = this.endpoints.get(participantId);
    const signalled = endpoint?.consumers.get(consumerId);
    if (!endpoint || !signalled) return;
    endpoint.consumers.delete(consumerId);
    this.bridge.refresh(participantId);
    this.enqueue(endpoint, () => this.sendSources(endpoint, 'source-remove', signalled));
  }

  private async sendSources(endpoint: Endpoint, action: string, signalled: Signalled) {
    const jingle = this.jingle(endpoint, action);
    const description = jingle
      .c('content', { name: signalled.kind })
      .c('description', { xmlns: JINGLE.rtp, media: signalled.kind });
    description.children.push(...sourceElements(signalled.sources, signalled.groups));
    await this.request(endpoint, jingle);
  }

  private left(participant: Participant) {
    const endpoint = this.endpoints.get(participant.id);
    if (endpoint) this.endpoints.delete(participant.id);
    this.bridge.close(participant.id);
  }

  /** The client ended its session: its transport goes, with its producers and consumers. */
  private async terminated(endpoint: Endpoint) {
    this.endpoints.delete(endpoint.participantId);
    this.bridge.close(endpoint.participantId);
    if (endpoint.transportId) endpoint.media?.closeTransport(endpoint.transportId);
  }

  /** The endpoint's bridge channel, told the videos it receives. */
  private openBridgeChannel(endpoint: Endpoint, media: MediaSession, origin: string): string {
    const videos = () =>
      [...endpoint.consumers.entries()]
        .filter(([, received]) => received.kind === 'video')
        .map(([consumerId, { owner, name }]) => ({
          consumerId,
          endpoint: owner,
          sourceName: name,
        }));
    const { roomId, participantId } = endpoint;
    return this.bridge.open({ roomId, participantId, media, videos }, origin);
  }

  // --- plumbing ---

  private jingle(endpoint: Endpoint, action: string): Element {
    return new Element('jingle', { xmlns: JINGLE.base, action, sid: endpoint.sid });
  }

  private occupantJid(endpoint: Endpoint): string {
    return `${endpoint.roomJid}/${this.nick}`;
  }

  private nickOf(endpoint: Endpoint): string | undefined {
    return this.muc.nickOf(endpoint.roomId, endpoint.participantId);
  }

  /** Sends a Jingle IQ to the endpoint's client; settles with its answer (undefined: none in time). */
  private request(endpoint: Endpoint, jingle: Element): Promise<Element | undefined> {
    const id = randomUUID();
    const to = endpoint.session.full;
    const iq = new Element('iq', {
      xmlns: NS.client,
      type: 'set',
      id,
      to,
      from: this.occupantJid(endpoint),
    });
    iq.cnode(jingle);
    const key = `${to} ${id}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(undefined);
      }, IQ_TIMEOUT_MS);
      this.pending.set(key, (reply) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(reply);
      });
      endpoint.session.send(iq);
    });
  }

  private enqueue(endpoint: Endpoint, step: () => Promise<unknown>) {
    endpoint.work = endpoint.work.then(step).catch((error: unknown) => {
      if (this.refusal(error) !== undefined || endpoint.session.ended) return;
      this.logger.error(
        { err: error, participantId: endpoint.participantId },
        'Jitsi focus step failed',
      );
    });
  }

  /** The text a client gets for a request it got wrong; undefined for the server's own failures. */
  private refusal(error: unknown): string | undefined {
    if (error instanceof JingleMappingError) return error.message;
    if (error instanceof DomainError) return error.message;
    if (error instanceof Error && (error.name === 'UnsupportedError' || error.name === 'TypeError'))
      return error.message;
    return undefined;
  }

  private unknownSession(stanza: Element, origin: XmppSession) {
    const reply = errorReply(stanza, 'cancel', 'item-not-found', 'no such Jingle session');
    if (!reply) return;
    reply.getChild('error')!.c('unknown-session', { xmlns: JINGLE.errors });
    reply.attrs.to = origin.full;
    origin.send(reply);
  }
}
