import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { IncomingMessage, Server } from 'node:http';
import { Duplex } from 'node:stream';
import WebSocket, { RawData, WebSocketServer } from 'ws';
import { ClusterService } from '../../../cluster/cluster.service';
import { ConferenceService } from '../../../conference/conference.service';
import { DomainError } from '../../../conference/domain-error';
import { MediaService } from '../../../media/media.service';
import { MediaSession } from '../../../media/media-session';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { TokenBucket } from '../../token-bucket';
import { MultiUserChat } from '../muc/muc.handler';
import { refuseUpgrade } from '../stream/websocket-door';
import {
  allocate,
  ReceivedVideo,
  receiverVideoConstraints,
  ReceiverVideoConstraints,
  VideoAllocation,
} from './receiver-constraints';

export const COLIBRI_WEBSOCKET_PATH = '/colibri-ws/';
/** A larger message closes the channel (1009): endpoint messages are small. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** Messages per second a client may send (bursts up to MESSAGE_BURST). */
const MESSAGES_PER_SECOND = 50;
const MESSAGE_BURST = 200;
/** How many recent speakers a room remembers (previousSpeakers, lastN order). */
const SPEAKERS_KEPT = 10;

/** What the focus tells the bridge of one Jitsi endpoint. */
export interface BridgeEndpoint {
  roomId: string;
  participantId: string;
  media: MediaSession;
  /** The videos it receives now, as the focus signalled them. */
  videos(): ReceivedVideo[];
}

/** One endpoint's channel: its secret URL, its WebSocket once opened, what it asked for. */
interface Channel {
  secret: string;
  endpoint: BridgeEndpoint;
  socket?: WebSocket;
  bucket: TokenBucket;
  constraints?: ReceiverVideoConstraints;
  /** What was last applied to each of its consumers, by consumer id. */
  applied: Map<string, VideoAllocation>;
  /** The forwarded sources last told (JSON), so that only changes are sent. */
  forwarded?: string;
  work: Promise<unknown>;
}

type Message = Record<string, unknown> & { colibriClass: string };

/**
 * The bridge channel of Jitsi Meet clients (jitsi-videobridge's "Colibri WebSocket"): the
 * session-initiate names a secret URL per Jingle session on this shard's HTTP server,
 * where lib-jitsi-meet opens a WebSocket speaking JSON messages. This side says hello,
 * tells the room's dominant speaker (mediasoup's active speaker, whatever the speaker's
 * door), turns the client's ReceiverVideoConstraints into pauses and simulcast layers of
 * its consumers (and tells the forwarded sources), and relays endpoint messages between
 * the room's Jitsi clients. Malformed or unknown messages are ignored; a flood or an
 * oversized one closes the channel, which the client then opens again.
 */
@Injectable()
export class ColibriBridge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly bySecret = new Map<string, Channel>();
  private readonly byParticipant = new Map<string, Channel>();
  /** Each room's recent dominant speakers (participant ids), the current one first. */
  private readonly speakers = new Map<string, string[]>();
  private server: Server | null = null;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    this.upgrade(request, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly mediaService: MediaService,
    private readonly conference: ConferenceService,
    private readonly muc: MultiUserChat,
    private readonly cluster: ClusterService,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.server.on('upgrade', this.onUpgrade);
    this.mediaService.events.on('activeSpeaker', (roomId, participantId) =>
      this.spoke(roomId, participantId),
    );
    this.mediaService.events.on('roomMediaLost', (roomId) => this.speakers.delete(roomId));
    this.conference.events.on('participantLeft', (participant) => {
      const list = this.speakers.get(participant.roomId);
      if (!list) return;
      const rest = list.filter((id) => id !== participant.id);
      if (rest.length) this.speakers.set(participant.roomId, rest);
      else this.speakers.delete(participant.roomId);
    });
  }

  beforeApplicationShutdown(): void {
    this.server?.off('upgrade', this.onUpgrade);
    for (const channel of this.bySecret.values()) channel.socket?.close(1001, 'shutdown');
    this.wss.close();
  }

  /**
   * A channel for the endpoint (replacing any it had); the URL, on `origin`, that its
   * session-initiate names. The shard's id in the query brings it through a proxy in
   * front of a cluster to this shard (HAProxy's `?shard=`).
   */
  open(endpoint: BridgeEndpoint, origin: string): string {
    this.close(endpoint.participantId);
    const channel: Channel = {
      secret: randomBytes(24).toString('base64url'),
      endpoint,
      bucket: new TokenBucket(MESSAGES_PER_SECOND, MESSAGE_BURST),
      applied: new Map(),
      work: Promise.resolve(),
    };
    this.bySecret.set(channel.secret, channel);
    this.byParticipant.set(endpoint.participantId, channel);
    const shard = encodeURIComponent(this.cluster.id);
    return `${origin}${COLIBRI_WEBSOCKET_PATH}${channel.secret}?shard=${shard}`;
  }

  /** The endpoint's consumers changed: its constraints apply to the new set. */
  refresh(participantId: string): void {
    const channel = this.byParticipant.get(participantId);
    if (channel) this.apply(channel);
  }

  /** The Jingle session ended: its channel URL stops working and its WebSocket closes. */
  close(participantId: string): void {
    const channel = this.byParticipant.get(participantId);
    if (!channel) return;
    this.byParticipant.delete(participantId);
    this.bySecret.delete(channel.secret);
    channel.socket?.close(1000, 'session ended');
  }

  // --- the WebSocket ---

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = URL.canParse(request.url ?? '/', 'http://localhost')
      ? new URL(request.url ?? '/', 'http://localhost')
      : null;
    if (!url?.pathname.startsWith(COLIBRI_WEBSOCKET_PATH)) return;
    const channel = this.bySecret.get(url.pathname.slice(COLIBRI_WEBSOCKET_PATH.length));
    if (!channel) return refuseUpgrade(socket, 404, 'no such bridge channel');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.opened(channel, ws));
  }

  private opened(channel: Channel, ws: WebSocket) {
    // A client that lost its channel opens it again with the same URL.
    channel.socket?.close(1000, 'replaced');
    channel.socket = ws;
    ws.on('message', (data, isBinary) => this.received(channel, ws, data, isBinary));
    ws.on('error', (error) => this.logger.debug({ err: error }, 'bridge channel error'));
    ws.on('close', () => {
      if (channel.socket === ws) channel.socket = undefined;
    });
    channel.forwarded = undefined;
    this.send(channel, { colibriClass: 'ServerHello', version: 'video-window' });
    const { roomId } = channel.endpoint;
    const [speaker, ...previous] = this.speakers.get(roomId) ?? [];
    if (speaker) this.send(channel, this.speakerMessage(roomId, speaker, previous));
    this.apply(channel);
  }

  private received(channel: Channel, ws: WebSocket, data: RawData, isBinary: boolean) {
    if (channel.socket !== ws) return;
    if (!channel.bucket.take()) return ws.close(1008, 'too many messages');
    const message = isBinary ? undefined : parseMessage(String(data));
    if (!message) {
      this.logger.debug({ participantId: channel.endpoint.participantId }, 'bad bridge message');
      return;
    }
    switch (message.colibriClass) {
      case 'ReceiverVideoConstraints': {
        const parsed = receiverVideoConstraints.safeParse(message);
        if (!parsed.success) return;
        channel.constraints = parsed.data;
        return this.apply(channel);
      }
      case 'LastNChangedEvent': {
        const lastN = receiverVideoConstraints.shape.lastN.safeParse(message.lastN);
        if (!lastN.success || lastN.data === undefined) return;
        channel.constraints = { ...channel.constraints, lastN: lastN.data };
        return this.apply(channel);
      }
      case 'EndpointMessage':
        return this.relay(channel, message);
      // EndpointStats, video types, audio subscriptions and the rest: nothing to do here.
      default:
        return;
    }
  }

  private send(channel: Channel, message: Message) {
    if (channel.socket?.readyState === WebSocket.OPEN) channel.socket.send(JSON.stringify(message));
  }

  // --- what the bridge tells ---

  private spoke(roomId: string, participantId: string) {
    const previous = (this.speakers.get(roomId) ?? []).filter((id) => id !== participantId);
    const list = [participantId, ...previous].slice(0, SPEAKERS_KEPT);
    this.speakers.set(roomId, list);
    const message = this.speakerMessage(roomId, participantId, previous);
    for (const channel of this.byParticipant.values()) {
      if (channel.endpoint.roomId !== roomId) continue;
      this.send(channel, message);
      // Who spoke last decides which videos a lastN lets through.
      if ((channel.constraints?.lastN ?? -1) >= 0) this.apply(channel);
    }
  }

  private speakerMessage(roomId: string, speaker: string, previous: string[]): Message {
    return {
      colibriClass: 'DominantSpeakerEndpointChangeEvent',
      dominantSpeakerEndpoint: this.muc.nickOf(roomId, speaker) ?? speaker,
      previousSpeakers: previous.flatMap((id) => this.muc.nickOf(roomId, id) ?? []),
    };
  }

  /** An endpoint message to one endpoint of the room (`to`), or to every other one (`''`). */
  private relay(from: Channel, message: Message) {
    const { msgPayload, to = '' } = message;
    if (typeof to !== 'string' || !msgPayload || typeof msgPayload !== 'object') return;
    const { roomId, participantId } = from.endpoint;
    const sender = this.muc.nickOf(roomId, participantId);
    if (!sender) return;
    const relayed = { colibriClass: 'EndpointMessage', from: sender, to, msgPayload };
    for (const channel of this.byParticipant.values()) {
      const { endpoint } = channel;
      if (endpoint.roomId !== roomId || endpoint.participantId === participantId) continue;
      if (to === '' || this.muc.nickOf(roomId, endpoint.participantId) === to)
        this.send(channel, relayed);
    }
  }

  /** Applies the channel's constraints to its consumers, one change after the other. */
  private apply(channel: Channel) {
    channel.work = channel.work
      .then(() => this.allocate(channel))
      .catch((error: unknown) =>
        this.logger.warn(
          { err: error, participantId: channel.endpoint.participantId },
          'bridge channel constraints failed',
        ),
      );
  }

  private async allocate(channel: Channel) {
    const { endpoint } = channel;
    if (this.byParticipant.get(endpoint.participantId) !== channel) return;
    const videos = endpoint.videos();
    const speakers = (this.speakers.get(endpoint.roomId) ?? []).flatMap(
      (id) => this.muc.nickOf(endpoint.roomId, id) ?? [],
    );
    const allocations = allocate(channel.constraints, videos, speakers);
    for (const allocation of allocations) {
      const before: Partial<VideoAllocation> = channel.applied.get(allocation.consumerId) ?? {
        paused: false,
      };
      try {
        if (allocation.paused !== before.paused)
          await endpoint.media.setConsumerPaused(allocation.consumerId, allocation.paused);
        if (!allocation.paused && allocation.spatialLayer !== before.spatialLayer)
          await endpoint.media
            .setPreferredLayers(allocation.consumerId, { spatialLayer: allocation.spatialLayer! })
            .catch(simpleConsumer);
        channel.applied.set(allocation.consumerId, allocation);
      } catch (error) {
        // Its consumer closed meanwhile, or the participant left.
        if (!(error instanceof DomainError)) throw error;
      }
    }
    const current = new Set(videos.map((video) => video.consumerId));
    for (const consumerId of channel.applied.keys())
      if (!current.has(consumerId)) channel.applied.delete(consumerId);
    const sent = videos.filter((video) => !channel.applied.get(video.consumerId)?.paused);
    const forwarded = JSON.stringify(sent.map((video) => video.sourceName));
    if (forwarded === channel.forwarded) return;
    channel.forwarded = forwarded;
    this.send(channel, {
      colibriClass: 'ForwardedSources',
      forwardedSources: sent.map((video) => video.sourceName),
    });
    // What clients before source names read instead (endpoint ids).
    this.send(channel, {
      colibriClass: 'LastNEndpointsChangeEvent',
      lastNEndpoints: [...new Set(sent.map((video) => video.endpoint))],
    });
  }
}

/** A JSON object with a colibriClass, or undefined. */
function parseMessage(text: string): Message | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const isMessage =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { colibriClass?: unknown }).colibriClass === 'string';
  return isMessage ? (value as Message) : undefined;
}

/** A consumer of a single-layer video has no layers to prefer: its pause is all it has. */
const simpleConsumer = (error: unknown) => {
  if (!(error instanceof DomainError && error.code === 'bad_request')) throw error;
};
