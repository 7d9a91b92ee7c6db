/**
 * Where rooms live: the truth every door follows. A room is owned by one shard under a
 * lease that its owner renews with every heartbeat; a room whose lease lapses (its shard
 * died) is free again, and a shard that finds its owner dead takes it over.
 */
export abstract class RoomDirectory {
  /**
   * Claims the room for `shardId` unless a lease of another shard holds it. Atomic:
   * of concurrent claims one wins. Returns the owner after the attempt.
   */
  abstract claim(roomId: string, shardId: string): Promise<string>;
  /**
   * Renews `shardId`'s leases of `roomIds` (claiming any that lapsed meanwhile, as after a
   * Redis restart). Returns the rooms another shard holds now: the caller lost them.
   */
  abstract renew(shardId: string, roomIds: string[]): Promise<string[]>;
  /** Frees the room, if `shardId` still owns it. */
  abstract release(roomId: string, shardId: string): Promise<void>;
  /** Gives the room to `to` if `from` still owns it (its owner died). Returns the owner. */
  abstract takeOver(roomId: string, from: string, to: string): Promise<string>;
  abstract ownerOf(roomId: string): Promise<string | undefined>;
  /**
   * Records that `shardId` serves `participants` of the room (its owner, the home, and
   * every member shard of a room spanning shards).
   */
  abstract setHost(roomId: string, shardId: string, participants: number): Promise<void>;
  abstract removeHost(roomId: string, shardId: string): Promise<void>;
  /**
   * The shards recorded as hosts of the room, each with the room's participants it serves;
   * dead ones stay until someone removes them.
   */
  abstract hostsOf(roomId: string): Promise<Record<string, number>>;
}

interface Lease {
  owner: string;
  expiresAt: number;
}

/** One process, or a test's model of the shared directory: leases in a map. */
export class LocalRoomDirectory extends RoomDirectory {
  private readonly leases = new Map<string, Lease>();
  private readonly hosts = new Map<string, Map<string, number>>();

  constructor(private readonly leaseMs: number) {
    super();
  }

  async claim(roomId: string, shardId: string) {
    const current = this.current(roomId);
    if (current && current !== shardId) return current;
    this.lease(roomId, shardId);
    return shardId;
  }

  async renew(shardId: string, roomIds: string[]) {
    const lost: string[] = [];
    for (const roomId of roomIds) {
      if ((await this.claim(roomId, shardId)) !== shardId) lost.push(roomId);
    }
    return lost;
  }

  async release(roomId: string, shardId: string) {
    if (this.current(roomId) === shardId) this.leases.delete(roomId);
  }

  async takeOver(roomId: string, from: string, to: string) {
    const current = this.current(roomId);
    if (current !== undefined && current !== from) return current;
    this.lease(roomId, to);
    return to;
  }

  async ownerOf(roomId: string) {
    return this.current(roomId);
  }

  async setHost(roomId: string, shardId: string, participants: number) {
    this.hosts.set(roomId, (this.hosts.get(roomId) ?? new Map()).set(shardId, participants));
  }

  async removeHost(roomId: string, shardId: string) {
    const hosts = this.hosts.get(roomId);
    hosts?.delete(shardId);
    if (hosts?.size === 0) this.hosts.delete(roomId);
  }

  async hostsOf(roomId: string) {
    return Object.fromEntries(this.hosts.get(roomId) ?? []);
  }

  private current(roomId: string): string | undefined {
    const lease = this.leases.get(roomId);
    if (lease && lease.expiresAt > Date.now()) return lease.owner;
    this.leases.delete(roomId);
    return undefined;
  }

  private lease(roomId: string, owner: string) {
    this.leases.set(roomId, { owner, expiresAt: Date.now() + this.leaseMs });
  }
}
