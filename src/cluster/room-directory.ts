/**
 * Where rooms live. A shard claims a room when it opens it and releases it when it
 * closes; a distributed implementation (Redis) lets other shards and the proxy see it.
 */
export abstract class RoomDirectory {
  abstract claim(roomId: string): Promise<void>;
  abstract release(roomId: string): Promise<void>;
  abstract roomsHere(): string[];
}

/** One process, no shared state: every room is on this shard. */
export class LocalRoomDirectory extends RoomDirectory {
  private readonly rooms = new Set<string>();

  async claim(roomId: string) {
    this.rooms.add(roomId);
  }

  async release(roomId: string) {
    this.rooms.delete(roomId);
  }

  roomsHere() {
    return [...this.rooms];
  }
}
