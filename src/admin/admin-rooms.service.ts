import { Inject, Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import { ClusterService } from '../cluster/cluster.service';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ConferenceService } from '../conference/conference.service';
import { DomainError } from '../conference/domain-error';
import { MediaService } from '../media/media.service';
import type { Request } from 'express';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { RoomAdminView, ShardInfo } from './admin.dto';
import { ShardForwarder } from './shard-forwarding';

/** The admin API's view of the live conferences on this shard. */
@Injectable()
export class AdminRoomsService {
  private readonly startedAt = new Date();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly cluster: ClusterService,
    private readonly forwarder: ShardForwarder,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  async rooms(): Promise<RoomAdminView[]> {
    const rooms = await Promise.all(
      this.conference.roomIds().map((roomId) =>
        this.room(roomId).catch((error: unknown) => {
          // A room that closed while being listed is simply no longer live.
          if (error instanceof DomainError && error.code === 'not_found') return undefined;
          throw error;
        }),
      ),
    );
    return rooms.filter((room) => room !== undefined);
  }

  /**
   * The live rooms of every shard, each shard asked for its own with the caller's
   * credentials; a shard that does not answer in time is left out (and logged).
   */
  async clusterRooms(request: Request): Promise<RoomAdminView[]> {
    const others = this.cluster.shards().filter((shard) => shard.id !== this.cluster.id);
    const lists = await Promise.all([
      this.rooms(),
      ...others.map(async (shard) => {
        const { status, body } = await this.forwarder
          .call(shard, request, '/api/v1/admin/rooms')
          .catch(() => ({ status: 503, body: undefined }));
        if (status === 200) return body as RoomAdminView[];
        this.logger.warn({ shardId: shard.id, status }, 'a shard did not list its rooms');
        return [];
      }),
    ]);
    return lists.flat();
  }

  async room(roomId: string): Promise<RoomAdminView> {
    const room = this.conference.roomInfo(roomId);
    const media = await this.media.room(roomId).catch(() => undefined);
    const participants = await Promise.all(
      room.participants.map(async (participant) => ({
        id: participant.id,
        identity: participant.identity,
        displayName: participant.displayName,
        role: participant.role,
        door: participant.door,
        joinedAt: participant.joinedAt.toISOString(),
        tracks: ((await media?.producerBitrates(participant.id)) ?? []).map(
          ({ id, kind, source, paused, bitrate }) => ({ id, kind, source, paused, bitrate }),
        ),
        receiving: (media?.consumersOf(participant.id) ?? []).map(
          ({ id, producerId, kind, paused, producerPaused, preferredLayers, currentLayers }) => ({
            id,
            producerId,
            kind,
            paused,
            producerPaused,
            preferredSpatialLayer: preferredLayers?.spatialLayer,
            currentSpatialLayer: currentLayers?.spatialLayer,
          }),
        ),
      })),
    );
    return {
      id: room.id,
      shard: this.cluster.id,
      createdAt: room.createdAt.toISOString(),
      locked: room.locked,
      participants,
    };
  }

  async shard(): Promise<ShardInfo> {
    const roomIds = this.conference.roomIds();
    const { id, region, state } = this.cluster.self;
    return {
      id,
      region,
      state,
      hostname: hostname(),
      pid: process.pid,
      nodeVersion: process.version,
      mode: this.config.mode,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      rooms: roomIds.length,
      participants: roomIds.reduce((n, id) => n + this.conference.participantsOf(id).length, 0),
      media: await this.media.stats(),
    };
  }
}
