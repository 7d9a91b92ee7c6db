import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Element } from 'ltx';
import { Repository } from 'typeorm';
import { ClusterService } from '../../../cluster/cluster.service';
import { RoomPlacement } from '../../../cluster/room-placement.service';
import { WrongShardError } from '../../../cluster/wrong-shard.error';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import { LeaveReason } from '../../../conference/conference-events';
import { BreakoutRooms } from '../../../conference/breakout-rooms';
import { ConferenceService } from '../../../conference/conference.service';
import { DomainError } from '../../../conference/domain-error';
import { Participant, Role } from '../../../conference/participant';
import { ChatMessage } from '../../../conference/room';
import { MediaService } from '../../../media/media.service';
import { ProducerInfo } from '../../../media/media-events';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { Meeting } from '../../../portal/meetings/meeting.entity';
import { RecordingInfo } from '../../../recording/recording-info';
import { RecordingService } from '../../../recording/recording.service';
import { RemoteSessions } from '../cluster/remote-sessions';
import { Jid } from '../core/jid';
import { NS } from '../core/namespaces';
import { copyStanza, fanOutCopy } from '../core/stanza-copy';
import { StanzaRouter } from '../core/stanza-router';
import { XmppSession } from '../core/xmpp-session';
import { ServiceDiscovery } from '../disco/service-discovery';
import { joinError } from './join-errors';
import { MUC } from './muc-namespaces';
import { MucRoom, Occupant } from './muc-room';
import { isModeratorOccupant, occupantPresence, PresenceOptions } from './occupant-presence';
import { RemoteOccupancies } from './remote-occupancies';
import { ServiceOccupant } from './service-occupant';

const MAX_NICK_LENGTH = 64;
/** Each room a session joins is a conference participant with media: keep it bounded. */
export const MAX_ROOMS_PER_SESSION = 5;

/**
 * Multi-user chat (XEP-0045) at conference.<domain>: every conference room is a MUC
 * room. XMPP users join it as conference participants; participants from the other door
 * appear as occupants (nick = display name, made unique). Groupchat goes through the
 * conference's chat, so both doors see it; moderators are the conference's moderators.
 * In a cluster a room lives on the shard that runs its conference: stanzas to a room
 * another shard runs are forwarded there (RemoteSessions), and its occupants from other
 * shards are remote sessions there.
 */
@Injectable()
export class MultiUserChat implements OnModuleInit {
  readonly domain: string;
  /** Rooms by lower-cased conference room id (room JIDs are case-insensitive). */
  private readonly rooms = new Map<string, MucRoom>();
  /** While a groupchat stanza is being sent: its id, reflected to every occupant. */
  private sendingId: string | undefined;
  private readonly presenceCache = new WeakMap<Occupant, { plain: Element; withJid: Element }>();
  /** Reasons moderators gave for kicks in progress, by participant id. */
  private readonly kickReasons = new Map<string, string>();
  /** Rooms other shards run that sessions of this one are in. */
  private readonly elsewhere: RemoteOccupancies;
  private service?: ServiceOccupant;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly router: StanzaRouter,
    private readonly disco: ServiceDiscovery,
    private readonly conference: ConferenceService,
    private readonly media: MediaService,
    private readonly cluster: ClusterService,
    private readonly placement: RoomPlacement,
    private readonly sessions: RemoteSessions,
    private readonly recordings: RecordingService,
    private readonly breakouts: BreakoutRooms,
    @InjectRepository(Meeting) private readonly meetings: Repository<Meeting>,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.domain = `conference.${router.domain}`;
    this.elsewhere = new RemoteOccupancies(this.domain);
  }

  onModuleInit(): void {
    this.disco.addItem(this.domain, 'Chatrooms');
    this.router.handleDomain(this.domain, (stanza, origin, to) => this.route(stanza, origin, to!));
    this.router.onSessionEnded((session) => this.sessionEnded(session));
    this.sessions.onDelivery((session, stanza, shardId) =>
      this.elsewhere.observe(session, stanza, shardId),
    );
    this.sessions.onShardLost((shardId) => this.elsewhere.endOn(shardId));
    this.renderConferenceEvents();
    this.renderMediaEvents();
    this.renderRecordingEvents();
    this.renderBreakoutEvents();
  }

  /** Adds a service's occupant (the Jitsi focus) to every room, for the sessions it serves. */
  useServiceOccupant(service: ServiceOccupant): void {
    this.service = service;
  }

  /** The nick under which a participant of the room appears. */
  nickOf(roomId: string, participantId: string): string | undefined {
    return this.rooms.get(roomId.toLowerCase())?.ofParticipant(participantId)?.nick;
  }

  private async route(stanza: Element, origin: XmppSession, to: Jid): Promise<void> {
    if (!to.local) return this.toService(stanza, origin);
    const room = this.rooms.get(to.local);
    // A session in a room on another shard sends its stanzas for the room there, even when
    // this shard hosts the room too (it spans shards, and serves that session elsewhere).
    // Other stanzas for a room not open here go where the directory names it; a join finds
    // its shard as it enters the conference.
    if (!origin.remote) {
      const shard =
        this.elsewhere.shardOf(origin, to.local) ??
        (room || stanza.name === 'presence'
          ? undefined
          : await this.ownerElsewhere(origin, to.local));
      if (shard) return this.forward(shard, stanza, origin, to);
    }
    if (stanza.name === 'presence') return this.presence(stanza, origin, to, room);
    if (!room) {
      if (stanza.name === 'iq' && stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set')
        return;
      return this.router.bounce(stanza, origin, 'cancel', 'item-not-found', 'no such room');
    }
    if (stanza.name === 'message') return this.message(stanza, origin, to, room);
    return this.iq(stanza, origin, to, room);
  }

  // --- presence: join, update, leave ---

  private async presence(stanza: Element, origin: XmppSession, to: Jid, room?: MucRoom) {
    const type = stanza.attrs.type as string | undefined;
    const occupant = room?.ofSession(origin);
    if (type === 'error') return;
    if (occupant) {
      if (to.resource !== occupant.nick) {
        if (type === 'unavailable') return;
        return this.router.bounce(
          stanza,
          origin,
          'cancel',
          'not-allowed',
          'nick changes are not supported: leave and join again',
        );
      }
      if (type === 'unavailable') return this.conference.leave(occupant.participant.id, 'left');
      if (type !== undefined) return this.router.bounce(stanza, origin, 'modify', 'bad-request');
      occupant.presence = copyStanza(stanza, {});
      this.presenceCache.delete(occupant);
      if (this.service?.serves(origin))
        this.service.updated(room!, { ...occupant, session: origin });
      return this.broadcastPresence(room!, occupant);
    }
    if (type === 'unavailable') return this.leaveLobby(origin, to.local);
    if (type !== undefined) return;
    return this.join(stanza, origin, to);
  }

  private async join(stanza: Element, origin: XmppSession, to: Jid) {
    const nick = to.resource;
    if (!nick || nick.trim() !== nick || nick.length > MAX_NICK_LENGTH)
      return this.router.bounce(
        stanza,
        origin,
        'modify',
        'jid-malformed',
        'a room nickname of 1-64 characters, without surrounding spaces, is required',
      );
    const taken = this.rooms.get(to.local)?.isTaken(nick) || this.pending.get(to.local)?.has(nick);
    if (taken || nick === this.service?.nick)
      return this.router.bounce(stanza, origin, 'cancel', 'conflict', 'this nickname is taken');
    if (this.roomsJoinedBy(origin) >= MAX_ROOMS_PER_SESSION)
      return this.router.bounce(
        stanza,
        origin,
        'wait',
        'resource-constraint',
        `at most ${MAX_ROOMS_PER_SESSION} rooms per session`,
      );
    const pending = this.pendingNicks(to.local);
    pending.add(nick);
    this.joining.set(origin, (this.joining.get(origin) ?? 0) + 1);
    const release = () => {
      const joining = (this.joining.get(origin) ?? 1) - 1;
      if (joining > 0) this.joining.set(origin, joining);
      else this.joining.delete(origin);
      pending.delete(nick);
      if (pending.size === 0) this.pending.delete(to.local);
    };
    let knocked!: () => void;
    const inLobby = new Promise<void>((resolve) => (knocked = resolve));
    const joined = this.enterConference(stanza, origin, to, knocked).finally(release);
    // A wait in the lobby goes on without holding up the stream's later stanzas (its
    // <close/> among them); its failure, if any, is answered when it comes.
    await Promise.race([joined, inLobby]);
    this.router.answerFailures(stanza, origin, joined);
  }

  /** The join itself: admission, the conference's rules (maybe its lobby), the room. */
  private async enterConference(
    stanza: Element,
    origin: XmppSession,
    to: Jid,
    knocked: () => void,
  ) {
    const nick = to.resource;
    try {
      const admission = await this.admission(origin, to.local);
      // A session that ended during an await joins no further (see also waitInLobby).
      if (origin.ended) return;
      if (!admission)
        return this.router.bounce(
          stanza,
          origin,
          'auth',
          'forbidden',
          "this login's join token is for another room",
        );
      const { roomId, role } = admission;
      const created = this.conference.participantsOf(roomId).length === 0;
      const password = stanza.getChild('x', MUC.base)?.getChildText('password') ?? undefined;
      const displayName =
        stanza.getChildText('nick', MUC.nick)?.trim().slice(0, MAX_NICK_LENGTH) || nick;
      const outcome = await this.conference.join({
        roomId,
        identity: origin.account.grant?.identity ?? origin.account.localpart,
        displayName,
        nick,
        role,
        door: 'xmpp',
        password,
        placement: origin.placement,
      });
      if ('waiting' in outcome) knocked();
      const entered =
        'waiting' in outcome
          ? await this.waitInLobby(origin, to.local, outcome.waiting.id)
          : outcome;
      if (!entered)
        return this.router.bounce(
          stanza,
          origin,
          'auth',
          'forbidden',
          'not admitted: a moderator turned you away or the meeting ended',
        );
      const { participant } = entered;
      const room = this.rooms.get(to.local);
      if (origin.ended || !room) {
        await this.conference.leave(participant.id, 'disconnected');
        return;
      }
      const occupant: Occupant & { session: XmppSession } = {
        nick,
        participant,
        session: origin,
        presence: copyStanza(stanza, {}),
        producers: new Map(),
      };
      this.enter(room, occupant, stanza, created);
    } catch (error) {
      // A forwarded join is not forwarded again: it is answered "wait" (see joinError),
      // and the client's next try goes to where the room went.
      if (error instanceof WrongShardError && !origin.remote)
        return this.forward(error.shard, stanza, origin, to);
      const refusal = joinError(error);
      if (!refusal) throw error;
      this.router.bounce(stanza, origin, ...refusal);
    }
  }

  /** Hands a stanza to the shard that runs the room; a join is followed from here. */
  private forward(shardId: string, stanza: Element, origin: XmppSession, to: Jid) {
    if (stanza.name === 'presence' && stanza.attrs.type === undefined)
      this.elsewhere.joining(origin, to.local, to.resource, shardId);
    this.sessions.forward(shardId, stanza, origin);
  }

  /**
   * The other shard that runs a room not open here (for stanzas other than joins from
   * sessions not in it). Alone there is none; without the directory, none is known.
   */
  private async ownerElsewhere(origin: XmppSession, local: string) {
    if (!this.cluster.shards().some((shard) => shard.id !== this.cluster.id)) return undefined;
    try {
      const admitted = await this.admission(origin, local);
      const owner = admitted && (await this.placement.ownerOf(admitted.roomId));
      return owner && owner.id !== this.cluster.id ? owner.id : undefined;
    } catch (error) {
      this.logger.warn({ err: error, room: local }, 'cannot tell which shard runs the room');
      return undefined;
    }
  }

  /** Which conference room a room JID names, and the role its joiner gets there. */
  private async admission(
    origin: XmppSession,
    local: string,
  ): Promise<{ roomId: string; role: Role } | null> {
    const { account } = origin;
    if (account.grant) {
      if (account.grant.room.toLowerCase() !== local) return null;
      return { roomId: account.grant.room, role: account.grant.role };
    }
    const open = this.rooms.get(local)?.roomId;
    // Guests in an open room need no lookup; anyone else may be the meeting's host.
    if (open && account.kind === 'guest') return { roomId: open, role: 'guest' };
    const meeting = await this.meetings
      .createQueryBuilder('meeting')
      .where('LOWER(meeting.room) = :local', { local })
      .getOne();
    const roomId = open ?? meeting?.room ?? local;
    if (account.kind === 'guest') return { roomId, role: 'guest' };
    return { roomId, role: meeting?.hostId === account.localpart ? 'moderator' : 'participant' };
  }

  /** XEP-0045 section 7.2: others' presence, own presence to all, history, subject. */
  private enter(
    room: MucRoom,
    occupant: Occupant & { session: XmppSession },
    stanza: Element,
    created: boolean,
  ) {
    const self = occupant.session;
    const moderator = isModeratorOccupant(occupant);
    for (const other of room.occupants)
      self.send(this.addressed(this.currentPresence(room, other, moderator), self));
    const service = this.service?.serves(self) ? this.service : undefined;
    if (service) self.send(this.addressed(service.presence(room), self));
    room.add(occupant);
    // XEP-0045 section 7.2.12: a room being recorded says so in the joiner's self-presence.
    const recorded = this.recordings.current(room.roomId) ? [170] : [];
    this.broadcastPresence(room, occupant, {}, [...(created ? [201] : []), ...recorded]);
    const history = stanza.getChild('x', MUC.base)?.getChild('history');
    const maxStanzas = Number(history?.attrs.maxstanzas ?? Infinity);
    const messages = this.conference.recentChat(room.roomId);
    const wanted = Number.isFinite(maxStanzas)
      ? Math.max(0, Math.floor(maxStanzas) || 0)
      : messages.length;
    for (const message of messages.slice(messages.length - Math.min(wanted, messages.length))) {
      const groupchat = this.groupchat(room, message, message.id);
      groupchat.c('delay', { xmlns: NS.delay, from: room.jid, stamp: message.sentAt });
      self.send(this.addressed(groupchat, self));
    }
    self.send(this.addressed(this.subjectMessage(room), self));
    service?.entered(room, occupant);
  }

  /**
   * Sends `occupant`'s presence to every XMPP occupant; the occupant itself also gets
   * 110 and `selfCodes` (XEP-0045 section 7.2.2).
   */
  private broadcastPresence(
    room: MucRoom,
    occupant: Occupant,
    options: PresenceOptions = {},
    selfCodes: number[] = [],
  ) {
    // Built only for XMPP viewers: a room of socket.io participants alone needs none (and
    // would keep two cached presences per participant).
    const viewers = room.xmppOccupants.filter((viewer) => viewer !== occupant);
    if (viewers.length) {
      const current = !options.unavailable && !options.codes && !options.reason;
      const plain = current
        ? this.currentPresence(room, occupant, false)
        : occupantPresence(room, occupant, options);
      const withJid = current
        ? this.currentPresence(room, occupant, true)
        : occupantPresence(room, occupant, { ...options, showRealJid: true });
      for (const viewer of viewers) {
        const presence = isModeratorOccupant(viewer) ? withJid : plain;
        viewer.session.send(this.addressed(presence, viewer.session));
      }
    }
    if (occupant.session) {
      const codes = [110, ...selfCodes, ...(options.codes ?? [])];
      const self = occupantPresence(room, occupant, { ...options, showRealJid: true, codes });
      occupant.session.send(this.addressed(self, occupant.session));
    }
  }

  // --- messages ---

  private message(stanza: Element, origin: XmppSession, to: Jid, room: MucRoom) {
    const type = (stanza.attrs.type as string | undefined) ?? 'normal';
    if (type === 'error') return;
    const sender = room.ofSession(origin);
    if (!sender)
      return this.router.bounce(
        stanza,
        origin,
        'modify',
        'not-acceptable',
        'only occupants may send messages to the room',
      );
    if (to.resource) return this.privateMessage(stanza, origin, to, room, sender);
    if (type !== 'groupchat') return this.router.bounce(stanza, origin, 'modify', 'bad-request');
    const subject = stanza.getChild('subject');
    const body = stanza.getChildText('body');
    if (subject && body === null)
      return this.setSubject(stanza, origin, room, sender, subject.text());
    if (body === null) return;
    this.sendingId = typeof stanza.attrs.id === 'string' ? stanza.attrs.id : undefined;
    try {
      this.conference.chat(sender.participant.id, body);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.router.bounce(stanza, origin, 'modify', 'not-acceptable', error.message);
    } finally {
      this.sendingId = undefined;
    }
  }

  private privateMessage(
    stanza: Element,
    origin: XmppSession,
    to: Jid,
    room: MucRoom,
    sender: Occupant,
  ) {
    if (stanza.attrs.type === 'groupchat')
      return this.router.bounce(
        stanza,
        origin,
        'modify',
        'bad-request',
        'groupchat goes to the room',
      );
    const recipient = room.byNickname(to.resource);
    if (!recipient)
      return this.router.bounce(stanza, origin, 'cancel', 'item-not-found', 'no such occupant');
    if (!recipient.session)
      return this.router.bounce(
        stanza,
        origin,
        'cancel',
        'service-unavailable',
        'this occupant takes no private messages',
      );
    const forwarded = copyStanza(stanza, {
      from: `${room.jid}/${sender.nick}`,
      to: recipient.session.full,
    });
    if (!forwarded.getChild('x', MUC.user)) forwarded.c('x', { xmlns: MUC.user });
    recipient.session.send(forwarded);
  }

  private setSubject(
    stanza: Element,
    origin: XmppSession,
    room: MucRoom,
    sender: Occupant,
    text: string,
  ) {
    if (!isModeratorOccupant(sender))
      return this.router.bounce(
        stanza,
        origin,
        'auth',
        'forbidden',
        'only moderators change the subject',
      );
    if (text.length > this.config.conference.maxChatLength)
      return this.router.bounce(stanza, origin, 'modify', 'not-acceptable', 'subject too long');
    room.subject = { text, nick: sender.nick };
    const message = this.subjectMessage(room);
    if (stanza.attrs.id) message.attrs.id = stanza.attrs.id;
    for (const viewer of room.xmppOccupants)
      viewer.session.send(this.addressed(message, viewer.session));
  }

  private subjectMessage(room: MucRoom): Element {
    const from = room.subject.nick ? `${room.jid}/${room.subject.nick}` : room.jid;
    const message = new Element('message', { xmlns: NS.client, type: 'groupchat', from });
    message.c('subject').t(room.subject.text);
    return message;
  }

  private groupchat(room: MucRoom, message: ChatMessage, id: string): Element {
    const nick = room.ofParticipant(message.from.participantId)?.nick ?? message.from.displayName;
    const stanza = new Element('message', {
      xmlns: NS.client,
      type: 'groupchat',
      id,
      from: `${room.jid}/${nick}`,
    });
    stanza.c('body').t(message.text);
    return stanza;
  }

  // --- IQs ---

  private async iq(stanza: Element, origin: XmppSession, to: Jid, room: MucRoom) {
    const type = stanza.attrs.type as string;
    const occupant = room.ofSession(origin);
    if (to.resource && to.resource === this.service?.nick)
      return this.service.iq(stanza, origin, room, occupant);
    if (to.resource) {
      const target = room.byNickname(to.resource);
      if (!occupant) {
        if (type === 'get' || type === 'set')
          this.router.bounce(
            stanza,
            origin,
            'modify',
            'not-acceptable',
            'only occupants may reach occupants',
          );
        return;
      }
      if (!target?.session) {
        if (type === 'get' || type === 'set')
          this.router.bounce(
            stanza,
            origin,
            'cancel',
            target ? 'service-unavailable' : 'item-not-found',
          );
        return;
      }
      target.session.send(
        copyStanza(stanza, { from: `${room.jid}/${occupant.nick}`, to: target.session.full }),
      );
      return;
    }
    if (type !== 'get' && type !== 'set') return;
    const payload = stanza.getChildElements()[0];
    const key = `${type} ${payload.getNS()}`;
    if (key === `get ${NS.discoInfo}`)
      return this.router.reply(stanza, origin, this.roomInfo(room));
    if (key === `get ${NS.discoItems}`) {
      const items = new Element('query', { xmlns: NS.discoItems });
      if (occupant) {
        for (const other of room.occupants)
          items.c('item', { jid: `${room.jid}/${other.nick}`, name: other.nick });
        // Its breakout rooms are rooms of their own, next to the occupants.
        const breakouts = this.breakouts.stateOf(room.roomId);
        if (breakouts?.mainRoomId === room.roomId)
          for (const breakout of breakouts.rooms)
            items.c('item', { jid: this.roomJid(breakout.id), name: breakout.name });
      }
      return this.router.reply(stanza, origin, items);
    }
    if (key === `set ${MUC.admin}`) return this.admin(stanza, origin, room, occupant, payload);
    this.router.bounce(stanza, origin, 'cancel', 'feature-not-implemented');
  }

  private roomInfo(room: MucRoom): Element {
    const query = new Element('query', { xmlns: NS.discoInfo });
    query.c('identity', { category: 'conference', type: 'text', name: room.roomId });
    for (const feature of [
      MUC.base,
      MUC.media,
      'muc_open',
      'muc_public',
      'muc_semianonymous',
      'muc_temporary',
      'muc_unmoderated',
    ])
      query.c('feature', { var: feature });
    const form = query.c('x', { xmlns: MUC.dataForms, type: 'result' });
    form.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(MUC.roomInfo);
    form.c('field', { var: 'muc#roominfo_occupants' }).c('value').t(String(room.occupants.length));
    form.c('field', { var: 'muc#roominfo_subject' }).c('value').t(room.subject.text);
    return query;
  }

  /** Kicking (XEP-0045 section 8.2): a moderator sets an occupant's role to none. */
  private async admin(
    stanza: Element,
    origin: XmppSession,
    room: MucRoom,
    occupant: Occupant | undefined,
    query: Element,
  ) {
    const items = query.getChildren('item');
    if (items.length !== 1) return this.router.bounce(stanza, origin, 'modify', 'bad-request');
    const { nick, role } = items[0].attrs as { nick?: string; role?: string };
    if (!nick || role !== 'none')
      return this.router.bounce(
        stanza,
        origin,
        'cancel',
        'feature-not-implemented',
        'only kicking (role none by nick) is supported',
      );
    if (!occupant || !isModeratorOccupant(occupant))
      return this.router.bounce(stanza, origin, 'auth', 'forbidden', 'only moderators kick');
    const target = room.byNickname(nick);
    if (!target)
      return this.router.bounce(stanza, origin, 'cancel', 'item-not-found', 'no such occupant');
    if (isModeratorOccupant(target))
      return this.router.bounce(
        stanza,
        origin,
        'cancel',
        'not-allowed',
        'moderators cannot be kicked',
      );
    const reason = items[0].getChildText('reason');
    if (reason) this.kickReasons.set(target.participant.id, reason.slice(0, 500));
    try {
      await this.conference.kick(room.roomId, target.participant.id);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.router.bounce(stanza, origin, 'cancel', 'not-allowed', error.message);
    } finally {
      this.kickReasons.delete(target.participant.id);
    }
    this.router.reply(stanza, origin);
  }

  // --- the service itself ---

  private toService(stanza: Element, origin: XmppSession) {
    const type = stanza.attrs.type as string | undefined;
    if (stanza.name !== 'iq' || (type !== 'get' && type !== 'set')) {
      if (stanza.name === 'message')
        this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
      return;
    }
    const ns = stanza.getChildElements()[0].getNS();
    if (type === 'get' && ns === NS.discoInfo) {
      const query = new Element('query', { xmlns: NS.discoInfo });
      query.c('identity', { category: 'conference', type: 'text', name: 'Chatrooms' });
      for (const feature of [NS.discoInfo, NS.discoItems, MUC.base, MUC.media])
        query.c('feature', { var: feature });
      return this.router.reply(stanza, origin, query);
    }
    if (type === 'get' && ns === NS.discoItems) {
      const query = new Element('query', { xmlns: NS.discoItems });
      for (const room of this.rooms.values()) query.c('item', { jid: room.jid, name: room.roomId });
      return this.router.reply(stanza, origin, query);
    }
    this.router.bounce(stanza, origin, 'cancel', 'service-unavailable');
  }

  // --- conference and media events, rendered to XMPP occupants ---

  private renderConferenceEvents() {
    const events = this.conference.events;
    events.on('roomOpened', (roomId) => {
      const key = roomId.toLowerCase();
      if (this.rooms.has(key)) return;
      this.rooms.set(key, new MucRoom(roomId, `${key}@${this.domain}`));
      // A room spanning shards opens here with the participants of the others in it.
      for (const participant of this.conference.participantsOf(roomId)) {
        this.otherDoorJoined(participant);
      }
    });
    events.on('roomClosed', (roomId) => this.roomClosed(roomId));
    events.on('rejoinRequired', (roomId) => this.roomClosed(roomId));
    events.on('participantJoined', (participant) => this.otherDoorJoined(participant));
    events.on('participantLeft', (participant, reason) => this.left(participant, reason));
    events.on('chatMessage', (message) => {
      const room = this.rooms.get(message.roomId.toLowerCase());
      if (!room) return;
      const id = this.sendingId ?? message.id;
      const stanza = this.groupchat(room, message, id);
      for (const viewer of room.xmppOccupants)
        viewer.session.send(this.addressed(stanza, viewer.session));
    });
  }

  /**
   * A recording starting or ending, as XEP-0045 announces logging (status 170 and 171 in
   * a groupchat message from the room), with a body for clients that show only those.
   */
  private renderRecordingEvents() {
    const announce = (recording: RecordingInfo) => {
      const room = this.rooms.get(recording.room.toLowerCase());
      if (!room) return;
      const active = recording.state === 'recording';
      const message = new Element('message', {
        xmlns: NS.client,
        type: 'groupchat',
        from: room.jid,
      });
      message
        .c('body')
        .t(active ? 'This room is being recorded.' : `Recording ended (${recording.reason}).`);
      message.c('x', { xmlns: MUC.user }).c('status', { code: active ? '170' : '171' });
      for (const viewer of room.xmppOccupants)
        viewer.session.send(this.addressed(message, viewer.session));
    };
    this.recordings.events.on('recordingStarted', announce);
    this.recordings.events.on('recordingFinished', announce);
  }

  /**
   * Breakout rooms opening and closing, and a moderator's broadcast to them, as
   * groupchat messages from the room (its own JID, no nick); the rooms are in the
   * room's disco#items.
   */
  private renderBreakoutEvents() {
    const announce = (roomIds: string[], text: string) => {
      for (const roomId of roomIds) {
        const room = this.rooms.get(roomId.toLowerCase());
        if (!room) continue;
        const message = new Element('message', {
          xmlns: NS.client,
          type: 'groupchat',
          from: room.jid,
        });
        message.c('body').t(text);
        for (const viewer of room.xmppOccupants)
          viewer.session.send(this.addressed(message, viewer.session));
      }
    };
    this.breakouts.events.on('breakoutsStarted', ({ mainRoomId, rooms }) =>
      announce(
        [mainRoomId],
        `Breakout rooms: ${rooms.map((room) => `${room.name} (${this.roomJid(room.id)})`).join(', ')}`,
      ),
    );
    this.breakouts.events.on('breakoutsFinished', (mainRoomId) =>
      announce([mainRoomId], 'The breakout rooms closed.'),
    );
    this.breakouts.events.on('breakoutBroadcast', (roomIds, from, text) =>
      announce(roomIds, `${from.displayName} to every room: ${text}`),
    );
  }

  private roomJid(roomId: string) {
    return `${roomId.toLowerCase()}@${this.domain}`;
  }

  /**
   * XMPP joins render themselves (see enter); the other door's participants show up here,
   * and so do those of other shards of a spanning room, whatever their door.
   */
  private otherDoorJoined(participant: Participant) {
    if (participant.door === 'xmpp' && !participant.shard) return;
    const room = this.rooms.get(participant.roomId.toLowerCase());
    if (!room) return;
    const pending = this.pending.get(room.jid.split('@')[0]);
    const wanted = participant.nick ?? (participant.displayName.trim() || 'Guest');
    const nick = room.freeNick(wanted, pending);
    const occupant: Occupant = { nick, participant, producers: new Map() };
    room.add(occupant);
    this.broadcastPresence(room, occupant);
  }

  private left(participant: Participant, reason: LeaveReason) {
    const room = this.rooms.get(participant.roomId.toLowerCase());
    const occupant = room?.ofParticipant(participant.id);
    if (!room || !occupant) return;
    room.remove(occupant);
    const kicked = reason === 'kicked';
    this.broadcastPresence(room, occupant, {
      unavailable: true,
      codes: kicked ? [307] : [],
      reason: kicked ? this.kickReasons.get(participant.id) : undefined,
    });
  }

  /** The conference room closed (or lost its media): XMPP occupants are let go (332). */
  private roomClosed(roomId: string) {
    const key = roomId.toLowerCase();
    const room = this.rooms.get(key);
    if (!room) return;
    this.rooms.delete(key);
    for (const occupant of room.xmppOccupants) {
      const presence = occupantPresence(room, occupant, { unavailable: true, codes: [110, 332] });
      occupant.session.send(this.addressed(presence, occupant.session));
    }
  }

  private renderMediaEvents() {
    const update = (roomId: string, producer: ProducerInfo, gone = false) => {
      const room = this.rooms.get(roomId.toLowerCase());
      const occupant = room?.ofParticipant(producer.participantId);
      if (!room || !occupant) return;
      this.presenceCache.delete(occupant);
      if (gone) occupant.producers.delete(producer.id);
      else
        occupant.producers.set(producer.id, {
          kind: producer.kind,
          source: producer.source,
          paused: producer.paused,
        });
      this.broadcastPresence(room, occupant);
    };
    const events = this.media.events;
    events.on('producerAdded', (roomId, producer) => update(roomId, producer));
    events.on('producerPaused', (roomId, producer) => update(roomId, producer));
    events.on('producerResumed', (roomId, producer) => update(roomId, producer));
    events.on('producerClosed', (roomId, producer) => update(roomId, producer, true));
  }

  /**
   * A meeting with a lobby: the join's answer waits until a moderator (on either door)
   * decides; a session that ends meanwhile, or ended while the join knocked, leaves the
   * lobby.
   */
  private async waitInLobby(session: XmppSession, local: string, entryId: string) {
    if (session.ended) return void this.conference.leaveLobby(entryId, 'disconnected');
    const entries = this.lobbyEntries.get(session) ?? new Map<string, string>();
    this.lobbyEntries.set(session, entries.set(local, entryId));
    try {
      return await this.conference.whenAdmitted(entryId);
    } finally {
      entries.delete(local);
      if (entries.size === 0) this.lobbyEntries.delete(session);
    }
  }

  /** Unavailable presence to a room whose lobby the session waits in: it gives up. */
  private leaveLobby(session: XmppSession, local: string) {
    const entryId = this.lobbyEntries.get(session)?.get(local);
    if (entryId) this.conference.leaveLobby(entryId, 'left');
  }

  private async sessionEnded(session: XmppSession) {
    this.elsewhere.forget(session);
    for (const entryId of this.lobbyEntries.get(session)?.values() ?? []) {
      this.conference.leaveLobby(entryId, 'disconnected');
    }
    for (const room of [...this.rooms.values()]) {
      const occupant = room.ofSession(session);
      if (occupant) await this.conference.leave(occupant.participant.id, 'disconnected');
    }
  }

  private readonly pending = new Map<string, Set<string>>();
  /** Lobby entries of sessions waiting for a moderator: by session, then room. */
  private readonly lobbyEntries = new Map<XmppSession, Map<string, string>>();
  /** Joins in progress, by session. */
  private readonly joining = new Map<XmppSession, number>();

  private roomsJoinedBy(session: XmppSession): number {
    let count = (this.joining.get(session) ?? 0) + this.elsewhere.count(session);
    for (const room of this.rooms.values()) if (room.ofSession(session)) count++;
    return count;
  }

  private pendingNicks(local: string): Set<string> {
    let nicks = this.pending.get(local);
    if (!nicks) this.pending.set(local, (nicks = new Set()));
    return nicks;
  }

  /**
   * An occupant's available presence as others see it, built once per change: a join
   * burst would otherwise build every occupant's presence again for every newcomer.
   */
  private currentPresence(room: MucRoom, occupant: Occupant, showRealJid: boolean): Element {
    let cached = this.presenceCache.get(occupant);
    if (!cached) {
      cached = {
        plain: occupantPresence(room, occupant),
        withJid: occupantPresence(room, occupant, { showRealJid: true }),
      };
      this.presenceCache.set(occupant, cached);
    }
    return showRealJid ? cached.withJid : cached.plain;
  }

  private addressed(stanza: Element, session: XmppSession): Element {
    return fanOutCopy(stanza, { to: session.full });
  }
}
