/** A ConferenceService with fake media and the local (one process) cluster, for unit tests. */
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import pino from 'pino';
import { ClusterService } from '../../src/cluster/cluster.service';
import { LocalRoomDirectory } from '../../src/cluster/room-directory';
import { RoomPlacement } from '../../src/cluster/room-placement.service';
import { LocalShardRegistry } from '../../src/cluster/shard-registry';
import { RegionAwareLeastLoadedSelector } from '../../src/cluster/shard-selector';
import { loadConfig } from '../../src/config/load-config';
import { ConferenceService, JoinRequest } from '../../src/conference/conference.service';
import { MediaEvents } from '../../src/media/media-events';
import { MediaService } from '../../src/media/media.service';
import { RoomPolicy, RoomPolicyProvider } from '../../src/conference/room-policy';

export const GRACE_MS = 50;

/** A policy provider with fixed policies for some rooms. */
export const policies = (byRoom: Record<string, RoomPolicy>): RoomPolicyProvider => ({
  policyFor: async (roomId) => byRoom[roomId],
});

export function setup(env: Record<string, string> = {}, provider = policies({})) {
  const config = loadConfig(
    { NODE_ENV: 'test', EMPTY_ROOM_GRACE_MS: String(GRACE_MS), ...env },
    join(__dirname, '..', '..', 'config'),
  );
  const roomMedia = { addPeer: jest.fn(), closePeer: jest.fn() };
  const media = {
    events: new EventEmitter<MediaEvents>(),
    openRoom: jest.fn(async () => roomMedia),
    room: jest.fn(async () => roomMedia),
    closeRoom: jest.fn(async () => undefined),
    workerCpu: jest.fn(async () => 0),
  };
  const logger = pino({ level: 'silent' });
  const directory = new LocalRoomDirectory(config.cluster.shardTtlMs);
  const cluster = new ClusterService(
    config,
    new LocalShardRegistry(config.cluster.shardTtlMs),
    directory,
    new HttpAdapterHost(),
    logger,
  );
  const placement = new RoomPlacement(
    cluster,
    directory,
    new RegionAwareLeastLoadedSelector(),
    logger,
  );
  const service = new ConferenceService(
    config,
    media as unknown as MediaService,
    placement,
    cluster,
    logger,
  );
  service.usePolicies(provider);
  return {
    service,
    media,
    roomMedia,
    cluster,
    config,
    logger,
    logged: jest.spyOn(logger, 'error'),
  };
}

export const request = (name: string, roomId = 'demo'): JoinRequest => ({
  roomId,
  identity: name.toLowerCase(),
  displayName: name,
  role: 'participant',
  door: 'socketio',
});

/** Joins straight into the room (no lobby on the way). */
export async function enter(service: ConferenceService, joinRequest: JoinRequest) {
  const outcome = await service.join(joinRequest);
  if (!('participant' in outcome)) throw new Error('unexpectedly waiting in the lobby');
  return outcome;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
