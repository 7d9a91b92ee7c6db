import { Element } from 'ltx';
import { Participant } from '../../../conference/participant';
import { XmppSession } from '../core/xmpp-session';

export type MediaState = 'on' | 'muted' | 'off';

/** A participant of the conference as the MUC room shows it, whatever its door. */
export interface Occupant {
  nick: string;
  participant: Participant;
  /** The XMPP session behind an occupant who joined over XMPP; none for socket.io. */
  session?: XmppSession;
  /** The last presence the XMPP occupant sent to the room (show, status ...). */
  presence?: Element;
  /** The occupant's media producers: kind, source and paused state by producer id. */
  producers: Map<string, { kind: 'audio' | 'video'; source: string; paused: boolean }>;
}

export function mediaState(occupant: Occupant, kind: 'audio' | 'video'): MediaState {
  const producers = [...occupant.producers.values()].filter((p) => p.kind === kind);
  if (producers.length === 0) return 'off';
  return producers.some((p) => !p.paused) ? 'on' : 'muted';
}

/** The XMPP view of one conference room: its occupants by nickname, and its subject. */
export class MucRoom {
  private readonly byNick = new Map<string, Occupant>();
  private readonly byParticipant = new Map<string, Occupant>();
  private readonly bySession = new Map<XmppSession, Occupant>();
  subject: { text: string; nick: string } = { text: '', nick: '' };

  constructor(
    readonly roomId: string,
    readonly jid: string,
  ) {}

  get occupants(): Occupant[] {
    return [...this.byNick.values()];
  }

  /** The occupants who joined over XMPP, each with its session. */
  get xmppOccupants(): (Occupant & { session: XmppSession })[] {
    return [...this.bySession.values()] as (Occupant & { session: XmppSession })[];
  }

  /** Whether an occupant, or a join in progress (`pending`), holds `nick`. */
  isTaken(nick: string, pending?: Set<string>): boolean {
    return this.byNick.has(nick) || (pending?.has(nick) ?? false);
  }

  /** `wanted`, or `wanted (2)`, `wanted (3)` ... whichever is free first. */
  freeNick(wanted: string, pending?: Set<string>): string {
    let nick = wanted;
    for (let n = 2; this.isTaken(nick, pending); n++) nick = `${wanted} (${n})`;
    return nick;
  }

  add(occupant: Occupant): void {
    this.byNick.set(occupant.nick, occupant);
    this.byParticipant.set(occupant.participant.id, occupant);
    if (occupant.session) this.bySession.set(occupant.session, occupant);
  }

  remove(occupant: Occupant): void {
    this.byNick.delete(occupant.nick);
    this.byParticipant.delete(occupant.participant.id);
    if (occupant.session) this.bySession.delete(occupant.session);
  }

  byNickname(nick: string): Occupant | undefined {
    return this.byNick.get(nick);
  }

  ofParticipant(participantId: string): Occupant | undefined {
    return this.byParticipant.get(participantId);
  }

  ofSession(session: XmppSession): Occupant | undefined {
    return this.bySession.get(session);
  }
}
