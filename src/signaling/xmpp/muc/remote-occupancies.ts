import { Element } from 'ltx';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { XmppSession } from '../core/xmpp-session';
import { MUC } from './muc-namespaces';

/** A session of this shard in (or joining) a room another shard runs. */
interface Occupancy {
  shard: string;
  nick: string;
  /** The room confirmed the join (self-presence, status 110). */
  joined: boolean;
  affiliation: string;
}

/**
 * The rooms other shards run that this shard's sessions are in: where their stanzas to
 * those rooms go, and whom to tell when such a shard dies. Followed as the client
 * follows it: a forwarded join adds one, the room's self-presence (status 110) confirms
 * it (or adds it, for a join answered after its occupancy ended), and the room's
 * unavailable self-presence, or an error answering the join, ends it.
 */
export class RemoteOccupancies {
  private readonly bySession = new Map<XmppSession, Map<string, Occupancy>>();

  /** `domain`: the MUC service's (conference.<domain>). */
  constructor(private readonly domain: string) {}

  /** The shard running the room (by lower-cased room id) the session is in, if another. */
  shardOf(session: XmppSession, room: string): string | undefined {
    return this.bySession.get(session)?.get(room)?.shard;
  }

  count(session: XmppSession): number {
    return this.bySession.get(session)?.size ?? 0;
  }

  /** The session's join of `room` went to `shard`. */
  joining(session: XmppSession, room: string, nick: string, shard: string): void {
    const rooms = this.roomsOf(session);
    if (!rooms.has(room)) rooms.set(room, { shard, nick, joined: false, affiliation: 'none' });
  }

  /** A stanza `shard` sends the session: room presence tells how its joins stand. */
  observe(session: XmppSession, stanza: Element, shard: string): void {
    if (stanza.name !== 'presence') return;
    const from = Jid.parse(String(stanza.attrs.from ?? ''));
    if (from?.domain !== this.domain || !from.local) return;
    const x = stanza.getChild('x', MUC.user);
    const self = x?.getChildren('status').some((status) => status.attrs.code === '110');
    const type = stanza.attrs.type as string | undefined;
    if (type === undefined && self) {
      const affiliation = String(x?.getChild('item')?.attrs.affiliation ?? 'none');
      this.roomsOf(session).set(from.local, {
        shard,
        nick: from.resource,
        joined: true,
        affiliation,
      });
      return;
    }
    const rooms = this.bySession.get(session);
    const occupancy = rooms?.get(from.local);
    const refused = type === 'error' && !occupancy?.joined && from.resource === occupancy?.nick;
    if (!rooms || !occupancy || !((type === 'unavailable' && self) || refused)) return;
    rooms.delete(from.local);
    if (rooms.size === 0) this.bySession.delete(session);
  }

  forget(session: XmppSession): void {
    this.bySession.delete(session);
  }

  /**
   * Ends the occupancies in the rooms of `shard` (it died, or lost track of them): each
   * session gets its room's unavailable self-presence with status 332 (XEP-0045 "removed
   * because of a system shutdown"), so that its client joins again.
   */
  endOn(shard: string): void {
    for (const [session, rooms] of [...this.bySession]) {
      for (const [room, occupancy] of [...rooms]) {
        if (occupancy.shard !== shard) continue;
        rooms.delete(room);
        session.send(this.shutdownPresence(session, room, occupancy));
      }
      if (rooms.size === 0) this.bySession.delete(session);
    }
  }

  private roomsOf(session: XmppSession): Map<string, Occupancy> {
    const rooms = this.bySession.get(session) ?? new Map<string, Occupancy>();
    this.bySession.set(session, rooms);
    return rooms;
  }

  private shutdownPresence(session: XmppSession, room: string, occupancy: Occupancy): Element {
    const presence = new Element('presence', {
      xmlns: NS.client,
      type: 'unavailable',
      from: `${room}@${this.domain}/${occupancy.nick}`,
      to: session.full,
    });
    const x = presence.c('x', { xmlns: MUC.user });
    x.c('item', { affiliation: occupancy.affiliation, role: 'none' });
    x.c('status', { code: '110' });
    x.c('status', { code: '332' });
    return presence;
  }
}
