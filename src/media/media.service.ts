import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { DomainError } from '../conference/domain-error';
import { DomainEvents } from '../conference/domain-events';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { MediaEvents } from './media-events';
import { MediaSession } from './media-session';
import { ReceiverLimits, RoomMedia, RouterSupply, TransportOptions } from './room-media';
import { WorkerPool } from './worker-pool.service';

/** Owns one RoomMedia (one or more routers) per room that has media on this shard. */
@Injectable()
export class MediaService {
  readonly events: DomainEvents<MediaEvents>;
  private readonly rooms = new Map<string, Promise<RoomMedia>>();
  private readonly transportOptions: TransportOptions;
  private readonly consumersPerRouter: number;
  readonly receiverLimits: ReceiverLimits;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly workers: WorkerPool,
    @InjectLogger() logger: Logger,
  ) {
    this.events = new DomainEvents(logger);
    this.transportOptions = {
      initialAvailableOutgoingBitrate: config.media.initialAvailableOutgoingBitrate,
      maxIncomingBitrate: config.media.maxIncomingBitrate,
    };
    this.consumersPerRouter = config.media.consumersPerRouter;
    this.receiverLimits = { maxVideos: config.media.maxVideosPerReceiver };
    this.events.on('roomMediaLost', (roomId) => this.rooms.delete(roomId));
  }

  /** The room's media, created with a router on the least loaded worker if needed. */
  openRoom(roomId: string): Promise<RoomMedia> {
    let room = this.rooms.get(roomId);
    if (!room) {
      const supply: RouterSupply = {
        consumersPerRouter: this.consumersPerRouter,
        routerBeside: (others) => this.workers.createRouterBeside(others, { roomId }),
        webRtcServerOf: (router) => this.workers.webRtcServerOf(router),
      };
      room = this.workers
        .createRouter({ roomId })
        .then((router) =>
          RoomMedia.create(
            roomId,
            router,
            this.transportOptions,
            supply,
            this.events,
            this.receiverLimits,
          ),
        );
      this.rooms.set(roomId, room);
      room.catch(() => this.rooms.delete(roomId));
    }
    return room;
  }

  async room(roomId: string): Promise<RoomMedia> {
    const room = this.rooms.get(roomId);
    if (!room) throw new DomainError('not_joined', `no media for room ${roomId}`);
    return room;
  }

  /**
   * A media peer of the live room that is no participant (a recorder): it consumes the
   * room's producers like one. Closing the room closes its objects too.
   */
  async attach(roomId: string, peerId: string): Promise<MediaSession> {
    const room = await this.room(roomId);
    room.addPeer(peerId, false);
    return new MediaSession(peerId, room);
  }

  /** Closes everything an attached peer made. */
  async detach(roomId: string, peerId: string): Promise<void> {
    (await this.rooms.get(roomId)?.catch(() => undefined))?.closePeer(peerId);
  }

  async closeRoom(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    this.rooms.delete(roomId);
    (await room?.catch(() => undefined))?.close();
  }

  async stats() {
    const rooms = await Promise.all([...this.rooms.values()].map((r) => r.catch(() => null)));
    const total = { rooms: 0, peers: 0, transports: 0, producers: 0, consumers: 0 };
    for (const room of rooms) {
      if (!room) continue;
      const s = room.stats();
      total.rooms += 1;
      total.peers += s.peers;
      total.transports += s.transports;
      total.producers += s.producers;
      total.consumers += s.consumers;
    }
    return total;
  }

  /** What every router of this shard offers (before any room exists too). */
  get routerRtpCapabilities() {
    return this.workers.routerRtpCapabilities;
  }

  /** The cores the mediasoup workers kept busy since the previous call. */
  workerCpu(): Promise<number> {
    return this.workers.cpuLoad();
  }

  /** Bits per second all rooms' transports currently receive and send. */
  async bitrates(): Promise<{ in: number; out: number }> {
    const rooms = await Promise.all([...this.rooms.values()].map((r) => r.catch(() => null)));
    const perRoom = await Promise.all(rooms.map((room) => room?.bitrates()));
    const total = { in: 0, out: 0 };
    for (const rates of perRoom) {
      total.in += rates?.in ?? 0;
      total.out += rates?.out ?? 0;
    }
    return total;
  }
}
