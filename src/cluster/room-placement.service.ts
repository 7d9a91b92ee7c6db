import { Injectable } from '@nestjs/common';
import { DomainError } from '../conference/domain-error';
import type { Logger } from '../observability/logger';
import { InjectLogger } from '../observability/logging.module';
import { ClusterService } from './cluster.service';
import { RoomDirectory } from './room-directory';
import { NO_LOAD, ShardEntry } from './shard';
import { PlacementHint, ShardSelector } from './shard-selector';
import { WrongShardError } from './wrong-shard.error';

export interface LocateOptions extends PlacementHint {
  /**
   * The client was sent to the owner yet arrived here (the proxy found the owner down):
   * the owner is checked before the client is sent back to it.
   */
  ownerSuspect?: boolean;
}

/**
 * Which shard runs a room: the directory's owner while it lives, else a shard the
 * selector picks for it (claimed at once, so that concurrent first joins agree).
 */
@Injectable()
export class RoomPlacement {
  /** Rooms this shard placed on others since their last heartbeat, against herding. */
  private readonly placed = new Map<string, { seenAt: number; rooms: number }>();

  constructor(
    private readonly cluster: ClusterService,
    private readonly directory: RoomDirectory,
    private readonly selector: ShardSelector,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  /** The shard the room lives on, placing it if it lives nowhere. */
  locate(roomId: string, options: LocateOptions = {}): Promise<ShardEntry> {
    return this.unavailableWithoutDirectory(() => this.find(roomId, options));
  }

  /** The live shard that runs the room, if any (nothing is placed). */
  async ownerOf(roomId: string): Promise<ShardEntry | undefined> {
    const ownerId = await this.directory.ownerOf(roomId);
    return ownerId === undefined ? undefined : this.liveShard(ownerId);
  }

  /**
   * Makes this shard the room's owner as it opens the room here; WrongShardError when
   * another live shard runs it, or should (this one drains).
   */
  claimHere(roomId: string): Promise<void> {
    return this.unavailableWithoutDirectory(() => this.claim(roomId));
  }

  private async find(roomId: string, options: LocateOptions): Promise<ShardEntry> {
    const ownerId = await this.directory.ownerOf(roomId);
    if (ownerId !== undefined) {
      const owner = await this.liveShard(ownerId);
      if (owner && (ownerId === this.cluster.id || !options.ownerSuspect)) return owner;
      if (owner && (await this.cluster.reachable(owner))) return owner;
      return this.takeOver(roomId, ownerId);
    }
    const chosen = await this.choose(options);
    const winner = await this.directory.claim(roomId, chosen.id);
    if (winner === chosen.id) this.notePlaced(chosen);
    return (await this.liveShard(winner)) ?? chosen;
  }

  private async claim(roomId: string): Promise<void> {
    const { id } = this.cluster;
    if (this.cluster.isDraining) {
      const heir = await this.choose({});
      if (heir.id === id) {
        throw new DomainError('unavailable', 'this shard is draining: try again shortly');
      }
      // Handed over in the directory, so that everyone moving with the room agrees.
      const owner = await this.directory.takeOver(roomId, id, heir.id);
      throw new WrongShardError(roomId, (await this.liveShard(owner)) ?? heir);
    }
    let owner = await this.directory.claim(roomId, id);
    if (owner !== id && !(await this.liveShard(owner))) {
      owner = await this.directory.takeOver(roomId, owner, id);
    }
    if (owner !== id) {
      const entry = await this.liveShard(owner);
      throw new WrongShardError(roomId, entry ?? { id: owner, publicUrl: '' });
    }
    this.cluster.hold(roomId);
  }

  /** Frees the room's lease (if the directory is unreachable, the lease simply lapses). */
  async release(roomId: string): Promise<void> {
    this.cluster.letGo(roomId);
    await this.directory.release(roomId, this.cluster.id).catch((error: unknown) => {
      this.logger.warn({ err: error, roomId }, 'could not release the room in the directory');
    });
  }

  /** New rooms wait for the directory (Redis) when it is unreachable; running ones go on. */
  private async unavailableWithoutDirectory<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.warn({ err: error }, 'room directory unreachable');
      throw new DomainError('unavailable', 'the cluster cannot place rooms right now: try again');
    }
  }

  private async takeOver(roomId: string, deadOwner: string): Promise<ShardEntry> {
    const heir = this.cluster.isDraining ? await this.choose({}) : this.selfEntry();
    const owner = await this.directory.takeOver(roomId, deadOwner, heir.id);
    if (owner === heir.id) {
      this.logger.warn({ roomId, deadOwner, heir: heir.id }, 'room taken over from a dead shard');
    }
    return (await this.liveShard(owner)) ?? heir;
  }

  /**
   * The selector's pick among the active shards as the registry has them now (this one
   * when it knows no other).
   */
  private async choose(hint: PlacementHint): Promise<ShardEntry> {
    const drainingHere = (shard: ShardEntry) =>
      shard.id === this.cluster.id && this.cluster.isDraining;
    const candidates = (await this.cluster.freshShards())
      .filter((shard) => shard.state === 'active' && !drainingHere(shard))
      .map((shard) => this.withPlaced(shard));
    if (!candidates.length) return this.selfEntry();
    return this.selector.select(candidates, hint);
  }

  /**
   * The shard if it lives: known from the last heartbeat, or else (it may have started
   * since) from the registry right now.
   */
  private async liveShard(shardId: string): Promise<ShardEntry | undefined> {
    if (shardId === this.cluster.id) return this.selfEntry();
    const known = this.cluster.shard(shardId);
    if (known) return known;
    return (await this.cluster.freshShards()).find((shard) => shard.id === shardId);
  }

  private selfEntry(): ShardEntry {
    return (
      this.cluster.shard(this.cluster.id) ?? { ...this.cluster.self, load: NO_LOAD, seenAt: 0 }
    );
  }

  private notePlaced(shard: ShardEntry) {
    const noted = this.placed.get(shard.id);
    const rooms = noted?.seenAt === shard.seenAt ? noted.rooms + 1 : 1;
    this.placed.set(shard.id, { seenAt: shard.seenAt, rooms });
  }

  /** The shard's announced load plus the rooms placed on it since it announced it. */
  private withPlaced(shard: ShardEntry): ShardEntry {
    const noted = this.placed.get(shard.id);
    if (!noted || noted.seenAt !== shard.seenAt) return shard;
    const { rooms, participants, workerCpu } = shard.load;
    return {
      ...shard,
      load: { rooms: rooms + noted.rooms, participants: participants + noted.rooms, workerCpu },
    };
  }
}
