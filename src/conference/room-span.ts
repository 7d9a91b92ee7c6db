import type { LocateOptions } from '../cluster/room-placement.service';
import type { ShardEntry } from '../cluster/shard';
import type { MediaKind } from './conference-events';
import type { Participant } from './participant';
import type { LobbyEntry } from './room';

/**
 * A room spanning shards (set when `cluster.span` is on): where its joiners are served,
 * how a shard becomes one of its hosts, and the moderation of participants (and of the
 * lobby) on the others.
 */
export interface RoomSpan {
  /** The shard that serves a joiner of the room: this one, or another to redirect to. */
  servingShard(roomId: string, placement?: LocateOptions): Promise<ShardEntry>;
  /** Makes this shard a host of the room, with what the other hosts know of it. */
  host(roomId: string): Promise<void>;
  /** Removes a participant of another shard ('kicked'), on its shard. */
  kick(participant: Participant): Promise<void>;
  /** Mutes a participant of another shard on its shard; the producers it paused. */
  mute(participant: Participant, kind: MediaKind): Promise<string[]>;
  /** Lets in, or turns away, someone waiting in the lobby of another shard, on its shard. */
  decide(entry: LobbyEntry, admit: boolean): Promise<void>;
}
