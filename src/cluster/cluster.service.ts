import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { detectAnnouncedAddress } from '../config/announced-address';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { RoomDirectory } from './room-directory';
import { NO_LOAD, ShardEntry, ShardLoad, ShardState } from './shard';
import { ShardRegistry } from './shard-registry';

export interface ClusterEvents {
  /** A shard stopped announcing itself (it died or left). */
  shardGone: [shardId: string];
  /**
   * The registry lists a shard it did not list before: it started, came back, or this
   * shard hears the cluster again after an outage. What they told each other (over the
   * bus) until now may be lost.
   */
  shardSeen: [shardId: string];
  /**
   * A room cannot stay on this shard (another shard holds it now, or this one drained
   * past its deadline): its participants must join again, elsewhere.
   */
  roomLost: [roomId: string];
  /** This shard started draining. */
  draining: [];
}

const PROBE_TIMEOUT_MS = 500;

/**
 * This shard as a member of the cluster: its identity, its heartbeat (announcing its
 * load and renewing the leases of the rooms it runs), and its view of the other shards.
 * Alone (no Redis) it is a cluster of one with the same behaviour.
 */
@Injectable()
export class ClusterService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly events = new EventEmitter<ClusterEvents>();
  /** This shard's id: SHARD_ID, else the host name and port (or pid, when the port is 0). */
  readonly id: string;
  /** The URLs, known when the HTTP server listens (its port may be chosen then). */
  private urls: Pick<ShardEntry, 'internalUrl' | 'publicUrl'> | undefined;
  private state: ShardState = 'active';
  private loadSource: () => Promise<ShardLoad> = async () => NO_LOAD;
  private readonly held = new Set<string>();
  /** Rooms spanning shards that this shard hosts a part of (whoever holds the lease). */
  private readonly hosted = new Set<string>();
  private peers = new Map<string, ShardEntry>();
  /** The shards the registry listed at its last reading. */
  private listed = new Set<string>();
  /**
   * After an outage, or when the registry forgot this shard (Redis restarted empty), the
   * registry refills: until then a shard it does not list yet is not taken for gone.
   */
  private refillingUntil = 0;
  private timer?: NodeJS.Timeout;
  private beating?: Promise<void>;
  /** A change to announce came while a heartbeat was on its way: beat once more. */
  private beatAgain = false;
  private outage = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: ShardRegistry,
    private readonly directory: RoomDirectory,
    private readonly adapterHost: HttpAdapterHost,
    @InjectLogger() private readonly logger: Logger,
  ) {
    const { shardId } = config.cluster;
    this.id = shardId || `${hostname()}-${config.http.port || process.pid}`;
  }

  get self(): Omit<ShardEntry, 'load' | 'seenAt'> & { pipeAddress: string } {
    const urls = this.urls ?? { internalUrl: '', publicUrl: '' };
    const { region, span } = this.config.cluster;
    const pipeAddress =
      span.pipeAddress || this.config.media.announcedAddress || detectAnnouncedAddress();
    return { id: this.id, region, ...urls, pipeAddress, state: this.state };
  }

  get isDraining(): boolean {
    return this.state === 'draining';
  }

  /** The rooms whose leases this shard renews. */
  get heldRooms(): string[] {
    return [...this.held];
  }

  /** The rooms with participants here: those it holds, and its parts of spanning rooms. */
  get roomsHere(): string[] {
    return [...new Set([...this.held, ...this.hosted])];
  }

  /** How the heartbeat measures this shard's load (the conference provides it). */
  measureLoadWith(source: () => Promise<ShardLoad>): void {
    this.loadSource = source;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    const start = () => {
      this.urls = this.urlsFor((server.address() as AddressInfo).port);
      void this.beat();
      this.timer = setInterval(() => void this.beat(), this.config.cluster.heartbeatMs);
      this.timer.unref();
    };
    if (server.listening) start();
    else server.once('listening', start);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    if (this.urls) await this.registry.withdraw(this.id).catch(() => undefined);
  }

  /** The live shards as of the last heartbeat (this one included once it announced). */
  shards(): ShardEntry[] {
    return [...this.peers.values()];
  }

  /** The live shards as the registry has them right now (for placing a new room). */
  async freshShards(): Promise<ShardEntry[]> {
    const shards = await this.registry.shards();
    this.updatePeers(shards);
    return shards;
  }

  shard(shardId: string): ShardEntry | undefined {
    return this.peers.get(shardId);
  }

  /** Whether the shard answers its liveness check right now. */
  async reachable(shard: ShardEntry): Promise<boolean> {
    if (shard.id === this.id) return true;
    try {
      const response = await fetch(`${shard.internalUrl}/health/live`, {
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Renews the room's lease from now on; its load is announced at once. */
  hold(roomId: string): void {
    this.held.add(roomId);
    void this.beat();
  }

  letGo(roomId: string): void {
    this.held.delete(roomId);
    void this.beat();
  }

  /** This shard hosts a part of a room spanning shards (drain waits for it too). */
  hostSpanning(roomId: string): void {
    this.hosted.add(roomId);
  }

  leaveSpanning(roomId: string): void {
    this.hosted.delete(roomId);
  }

  /** Stops taking new rooms; live rooms go on. Announced at once. */
  async drain(): Promise<void> {
    if (this.state === 'draining') return;
    this.state = 'draining';
    this.logger.warn({ shardId: this.id, rooms: this.held.size }, 'shard draining');
    this.events.emit('draining');
    await this.beat();
  }

  /** Gives up every room with participants here, so that they move elsewhere. */
  evacuate(): void {
    for (const roomId of this.roomsHere) {
      this.held.delete(roomId);
      this.hosted.delete(roomId);
      this.events.emit('roomLost', roomId);
    }
  }

  /**
   * One heartbeat at a time (a change during one gets another right after); a Redis
   * outage is logged once and healed by later beats.
   */
  private beat(): Promise<void> {
    if (!this.urls) return Promise.resolve();
    if (this.beating) {
      this.beatAgain = true;
      return this.beating;
    }
    this.beating = (async () => {
      do {
        this.beatAgain = false;
        await this.announceAndRenew();
      } while (this.beatAgain);
    })().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async announceAndRenew() {
    try {
      const load = await this.loadSource();
      const known = await this.registry.announce({ ...this.self, load, seenAt: Date.now() });
      const lost = await this.directory.renew(this.id, this.heldRooms);
      const shards = await this.registry.shards();
      if (this.outage) this.logger.info('cluster directory reachable again');
      if (this.outage || !known) {
        this.listed.clear();
        this.refillingUntil = Date.now() + this.config.cluster.shardTtlMs;
      }
      this.updatePeers(shards);
      this.outage = false;
      for (const roomId of lost) {
        this.held.delete(roomId);
        this.logger.warn({ roomId }, 'another shard holds this room now');
        this.events.emit('roomLost', roomId);
      }
    } catch (error) {
      if (!this.outage) this.logger.error({ err: error }, 'cluster heartbeat failed');
      this.outage = true;
    }
  }

  private updatePeers(shards: ShardEntry[]) {
    const before = this.peers;
    this.peers = new Map(shards.map((shard) => [shard.id, shard]));
    if (Date.now() < this.refillingUntil) {
      for (const [shardId, entry] of before)
        if (!this.peers.has(shardId)) this.peers.set(shardId, entry);
    }
    for (const shardId of before.keys()) {
      if (!this.peers.has(shardId)) this.events.emit('shardGone', shardId);
    }
    const listed = new Set(shards.map((shard) => shard.id));
    for (const shardId of listed) {
      if (!this.listed.has(shardId) && shardId !== this.id) this.events.emit('shardSeen', shardId);
    }
    this.listed = listed;
  }

  private urlsFor(port: number): Pick<ShardEntry, 'internalUrl' | 'publicUrl'> {
    const { internalUrl, publicUrl } = this.config.cluster;
    const address = this.config.media.announcedAddress || detectAnnouncedAddress();
    const internal = internalUrl || `http://${address}:${port}`;
    return { internalUrl: internal, publicUrl: publicUrl || internal };
  }
}
