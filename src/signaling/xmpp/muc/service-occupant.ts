import { Element } from 'ltx';
import { XmppSession } from '../core/xmpp-session';
import { MucRoom, Occupant } from './muc-room';

/**
 * An occupant that is a service, not a participant (the Jitsi focus, `<room>/focus`): it
 * has no media and no conference seat. The XMPP occupants it serves see its presence in
 * every room they enter, and their IQs to its nick go to it.
 */
export interface ServiceOccupant {
  readonly nick: string;
  serves(session: XmppSession): boolean;
  /** Its presence in `room` (from `<room>/<nick>`). */
  presence(room: MucRoom): Element;
  /** An occupant it serves entered `room` (its own presence and the others' were sent). */
  entered(room: MucRoom, occupant: Occupant & { session: XmppSession }): void;
  /** An occupant it serves sent new presence to `room`. */
  updated(room: MucRoom, occupant: Occupant & { session: XmppSession }): void;
  /** An IQ (of any type) to `<room>/<nick>` from `occupant`, none when the sender is not in the room. */
  iq(stanza: Element, origin: XmppSession, room: MucRoom, occupant: Occupant | undefined): void;
}
