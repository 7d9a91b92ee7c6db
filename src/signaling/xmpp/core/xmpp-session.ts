import { Element } from 'ltx';
import type { LocateOptions } from '../../../cluster/room-placement.service';
import { JoinGrant } from '../../../portal/join-token.service';
import { Jid } from './jid';

/** Who authenticated a stream, and how. */
export interface XmppAccount {
  /** The JID localpart: the portal user id, the join token's identity, or random. */
  localpart: string;
  displayName: string;
  kind: 'user' | 'token' | 'guest';
  /** The join token's grant (room, role), for logins with a join token. */
  grant?: JoinGrant;
}

/** XEP-0198 counters and the stanzas the client has not acknowledged yet. */
export interface StreamManagementState {
  id: string;
  resumable: boolean;
  /** Stanzas received from the client (the `h` we report). */
  handledInbound: number;
  /** Stanzas sent to the client so far. */
  sentOutbound: number;
  unacked: Element[];
}

/**
 * closed: the client closed its stream; dropped: the connection broke and the session
 * could not wait for resumption (or, for a remote session, its home shard is gone);
 * timeout: nobody resumed it in time.
 */
export const SESSION_END_REASONS = [
  'closed',
  'dropped',
  'replaced',
  'timeout',
  'error',
  'shutdown',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/**
 * One bound resource: a JID with a way to reach its client. The stream that carries it
 * may drop and be replaced by a resumed one (XEP-0198); the session outlives it. In a
 * cluster the other shards know it as a remote session, whose writer sends its stanzas
 * to the shard carrying it (see RemoteSessions).
 */
export class XmppSession {
  /** The last available presence the client broadcast; null while unavailable. */
  presence: Element | null = null;
  /**
   * Full or bare JIDs this session sent directed available presence to. When the
   * session becomes unavailable (or ends), each gets unavailable presence through the
   * router; a component (MUC) adds the occupant JID here when the session joins a room.
   */
  readonly directedPresence = new Set<string>();
  /** Whether the client fetched its roster (and so receives roster pushes). */
  interestedInRoster = false;
  /** Whether it asked focus.<domain> for a conference (a Jitsi Meet client, served by the focus). */
  focusClient = false;
  sm: StreamManagementState | null = null;
  ended = false;
  private writer: ((stanza: Element) => void) | null = null;
  /** The stream currently carrying this session (any object identifying it). */
  private carrier: unknown = null;
  /** Tells the carrying stream that another one took the session over. */
  private takenOver: (() => void) | null = null;
  private readonly endListeners: ((reason: SessionEndReason) => void)[] = [];
  private fullText?: string;

  constructor(
    readonly jid: Jid,
    readonly account: XmppAccount,
    /** What the client's connection tells the placement of a room it opens. */
    readonly placement: LocateOptions = {},
    /** The shard carrying the session when that is another one (a remote session). */
    readonly home: string | null = null,
    /**
     * Where the client reached the XMPP WebSocket (`wss://host`, through any proxy): the
     * base of other URLs it is given (the bridge channel's). Null when unknown.
     */
    readonly origin: string | null = null,
  ) {}

  get remote(): boolean {
    return this.home !== null;
  }

  get bare(): string {
    return this.jid.bare.toString();
  }

  /** The full JID as text: every stanza to the session is addressed to it. */
  get full(): string {
    return (this.fullText ??= this.jid.toString());
  }

  get connected(): boolean {
    return this.writer !== null;
  }

  get available(): boolean {
    return this.presence !== null;
  }

  /** Sends a stanza to the client, or keeps it for resumption while detached. */
  send(stanza: Element): void {
    if (this.ended) return;
    if (this.sm) {
      this.sm.sentOutbound++;
      this.sm.unacked.push(stanza);
    }
    this.writer?.(stanza);
  }

  /**
   * Lets `carrier` (a stream) carry this session from now on. A stream that carried it
   * until now (a resumption while the old connection still looked alive) is told.
   */
  attach(carrier: unknown, writer: (stanza: Element) => void, takenOver: () => void): void {
    const previous = this.carrier !== carrier ? this.takenOver : null;
    this.carrier = carrier;
    this.writer = writer;
    this.takenOver = takenOver;
    previous?.();
  }

  isCarriedBy(carrier: unknown): boolean {
    return this.carrier === carrier;
  }

  /** Detaches `carrier`; no effect when another stream has taken the session over. */
  detach(carrier: unknown): void {
    if (this.carrier !== carrier) return;
    this.carrier = null;
    this.writer = null;
    this.takenOver = null;
  }

  onEnd(listener: (reason: SessionEndReason) => void): void {
    this.endListeners.push(listener);
  }

  /** Marks the session ended; the router's listeners then clean up after it. */
  end(reason: SessionEndReason): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.endListeners) listener(reason);
    this.writer = null;
    this.carrier = null;
    this.takenOver = null;
  }
}
