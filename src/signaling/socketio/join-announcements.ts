import type { Logger } from '../../observability/logger';

/**
 * Batches the announcements of joins to a room. The first join after a quiet spell is
 * announced at once; joins within `windowMs` of the last announcement wait and go out
 * together. A burst of N joins then costs each member a few messages instead of N.
 *
 * Whoever sends anything else to the room flushes it first, so members see events in the
 * order they happened (a join before that participant's producers or its leaving).
 */
export class JoinAnnouncements<T> {
  private readonly rooms = new Map<
    string,
    { joined: T[]; lastSent: number; timer?: NodeJS.Timeout }
  >();

  constructor(
    private readonly windowMs: number,
    private readonly announce: (roomId: string, joined: T[]) => void,
    private readonly logger: Logger,
  ) {}

  add(roomId: string, joined: T) {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { joined: [], lastSent: -Infinity }));
    room.joined.push(joined);
    if (room.timer) return;
    const wait = room.lastSent + this.windowMs - performance.now();
    if (wait <= 0) this.flush(roomId);
    else room.timer = setTimeout(() => this.flushLate(roomId), wait);
  }

  /** Announces what waits for the room now. */
  flush(roomId: string) {
    const room = this.rooms.get(roomId);
    if (!room?.joined.length) return;
    clearTimeout(room.timer);
    room.timer = undefined;
    const joined = room.joined;
    room.joined = [];
    room.lastSent = performance.now();
    this.announce(roomId, joined);
    setTimeout(() => this.forgetQuiet(roomId), this.windowMs).unref();
  }

  /** Stops all timers; what waits is dropped (the server is closing). */
  clear() {
    for (const room of this.rooms.values()) clearTimeout(room.timer);
    this.rooms.clear();
  }

  /** The timer's flush: nobody but the log would hear of its failure. */
  private flushLate(roomId: string) {
    try {
      this.flush(roomId);
    } catch (error) {
      this.logger.error({ err: error, roomId }, 'could not announce joins');
    }
  }

  /** A room quiet for a whole window needs no memory: its next join goes out at once. */
  private forgetQuiet(roomId: string) {
    const room = this.rooms.get(roomId);
    if (room && !room.joined.length && performance.now() - room.lastSent >= this.windowMs) {
      this.rooms.delete(roomId);
    }
  }
}
