import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Element } from 'ltx';
import { z } from 'zod';
import { ClusterBus } from '../../../cluster/cluster-bus';
import { ClusterService } from '../../../cluster/cluster.service';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import type { Logger } from '../../../observability/logger';
import { InjectLogger } from '../../../observability/logging.module';
import { errorReply } from '../core/stanza-errors';
import { StanzaRouter } from '../core/stanza-router';
import { SessionEndReason, XmppSession } from '../core/xmpp-session';
import { BusMessages, busMessages, SessionState, TOPICS } from './bus-messages';

type DeliveryListener = (session: XmppSession, stanza: Element, fromShard: string) => unknown;

/** Stanzas the door built may be larger than what a client may send. */
const BUS_STANZA_FACTOR = 4;

/**
 * XMPP in a cluster: stanza routing between shards, as clustered XMPP servers do it.
 * Each shard tells the others about the sessions its streams carry (bound, changed,
 * ended) and keeps a copy of theirs in its router: a remote session, whose writer sends
 * stanzas over the cluster bus to the session's home shard, which hands them to the
 * real session. Presence broadcast, probes, subscriptions, roster pushes, messages and
 * the "online anywhere?" check before offline storage then work across shards
 * unchanged. A shard that appears (or is heard again after an outage) and this one
 * exchange their sessions; a shard that is gone takes its sessions with it.
 */
@Injectable()
export class RemoteSessions implements OnModuleInit {
  private readonly messages: BusMessages;
  /** Shards whose sessions this one holds (it got their list, and they did not go). */
  private readonly acquainted = new Set<string>();
  private readonly lostListeners: ((shardId: string) => unknown)[] = [];
  private readonly deliveryListeners: DeliveryListener[] = [];
  private busDown = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly router: StanzaRouter,
    private readonly cluster: ClusterService,
    private readonly bus: ClusterBus,
    @InjectLogger() private readonly logger: Logger,
  ) {
    const { maxStanzaBytes, maxDepth } = config.xmpp;
    this.messages = busMessages(router.domain, {
      maxStanzaBytes: maxStanzaBytes * BUS_STANZA_FACTOR,
      maxDepth,
    });
  }

  onModuleInit(): void {
    this.router.onSessionStarted((session) => this.announce(session));
    this.router.onSessionChanged((session) => this.announce(session));
    this.router.onSessionEnded((session, reason) => {
      if (!session.remote) this.publish(null, TOPICS.ended, { jid: session.full, reason });
    });
    this.cluster.events.on('shardSeen', (shardId) => this.exchange(shardId, true));
    this.cluster.events.on('shardGone', (shardId) => this.shardGone(shardId));
    this.receive(TOPICS.session, this.messages.session, (state, home) => this.copy(state, home));
    this.receive(TOPICS.ended, this.messages.ended, ({ jid, reason }, home) => {
      const copy = this.router.session(jid.toString());
      if (copy?.home === home) this.endCopy(copy, reason);
    });
    this.receive(TOPICS.sessions, this.messages.sessions, (message, home) =>
      this.replaceCopies(message, home),
    );
    this.receive(TOPICS.stanza, this.messages.stanza, ({ from, stanza }, shardId) =>
      this.routeForwarded(from.toString(), stanza, shardId),
    );
    this.receive(TOPICS.deliver, this.messages.deliver, ({ to, stanza }, shardId) =>
      this.deliver(to.toString(), stanza, shardId),
    );
  }

  /**
   * Sends a stanza of this shard's session to the shard running its MUC room, where it is
   * routed as coming from the session's remote copy; answers come back through the copy.
   */
  forward(shardId: string, stanza: Element, origin: XmppSession): void {
    this.publish(shardId, TOPICS.stanza, { from: origin.full, stanza: stanza.toString() });
  }

  /**
   * Runs when this shard's sessions lost what they had on another shard (their MUC
   * occupancies there): it died, or it holds nothing of them any more (it restarted, or
   * took this shard for gone).
   */
  onShardLost(listener: (shardId: string) => unknown): void {
    this.lostListeners.push(listener);
  }

  /** Runs for every stanza another shard sends to a session of this one, before it goes out. */
  onDelivery(listener: DeliveryListener): void {
    this.deliveryListeners.push(listener);
  }

  private announce(session: XmppSession) {
    if (!session.remote && !session.ended) this.publish(null, TOPICS.session, state(session));
  }

  /** Creates or updates the copy of a session `home` carries. */
  private copy(state: z.output<BusMessages['session']>, home: string) {
    const known = this.router.session(state.jid.toString());
    let copy = known?.home === home ? known : undefined;
    if (!copy) {
      const created = new XmppSession(state.jid, state.account, {}, home, state.origin);
      const writer = (stanza: Element) =>
        this.publish(home, TOPICS.deliver, { to: created.full, stanza: stanza.toString() });
      created.attach(this, writer, () => undefined);
      // A session of the same full JID elsewhere (this shard's included) is replaced.
      this.router.bind(created);
      copy = created;
    }
    copy.presence = state.presence;
    copy.interestedInRoster = state.interestedInRoster;
    copy.focusClient = state.focusClient;
  }

  /**
   * The home ended the session: it made it unavailable to everyone itself, so the copy
   * ends already unavailable (the router's listeners clean up its MUC occupancies).
   */
  private endCopy(copy: XmppSession, reason: SessionEndReason) {
    copy.presence = null;
    copy.end(reason);
  }

  /**
   * The shard is gone: so are its sessions. Each shard tells its own sessions that they
   * became unavailable (see PresenceHandler), and its sessions in the gone shard's rooms
   * that those rooms are gone.
   */
  private shardGone(shardId: string) {
    for (const copy of this.copiesOf(shardId)) copy.end('dropped');
    this.acquainted.delete(shardId);
    this.shardLost(shardId);
  }

  /**
   * Sends this shard's sessions to `shardId`, asking for its own when `reply`, and
   * telling it when this shard holds nothing of its sessions (it started, or dropped
   * them): what they had here (MUC occupancies) is gone.
   */
  private exchange(shardId: string, reply: boolean) {
    const sessions = this.router.localSessions().map(state);
    const forgot = !this.acquainted.has(shardId);
    this.publish(shardId, TOPICS.sessions, { sessions, reply, forgot });
  }

  private replaceCopies(message: z.output<BusMessages['sessions']>, home: string) {
    const listed = new Set(message.sessions.map((session) => session.jid.toString()));
    // What its home said about a session missing here may have been lost with it.
    for (const copy of this.copiesOf(home)) if (!listed.has(copy.full)) copy.end('dropped');
    for (const session of message.sessions) this.copy(session, home);
    this.acquainted.add(home);
    if (message.forgot) this.shardLost(home);
    if (message.reply) this.exchange(home, false);
  }

  /**
   * A stanza forwarded by the home of its sender; one whose sender this shard does not
   * know (it ended, or its announcement is not here yet) is answered to the sender.
   */
  private async routeForwarded(from: string, stanza: Element, shardId: string) {
    const origin = this.router.session(from);
    if (origin?.home === shardId && !origin.ended) return this.router.route(stanza, origin);
    const reply = errorReply(
      stanza,
      'wait',
      'service-unavailable',
      "the room's shard does not know this session: try again",
    );
    if (reply) this.publish(shardId, TOPICS.deliver, { to: from, stanza: reply.toString() });
  }

  /**
   * A stanza for a session of this shard. One that ended meanwhile gets nothing, as a
   * gone full JID would (RFC 6121 section 8.5.3.2), except that IQ requests are answered
   * service-unavailable.
   */
  private deliver(to: string, stanza: Element, fromShard: string) {
    const session = this.router.session(to);
    if (session && !session.remote) {
      for (const listener of this.deliveryListeners) listener(session, stanza, fromShard);
      return session.send(stanza);
    }
    if (stanza.name !== 'iq' || !['get', 'set'].includes(String(stanza.attrs.type))) return;
    const reply = errorReply(stanza, 'cancel', 'service-unavailable')!;
    this.router.deliverToFull(String(reply.attrs.to), reply);
  }

  private copiesOf(home: string): XmppSession[] {
    return this.router.allSessions().filter((session) => session.home === home);
  }

  private shardLost(shardId: string) {
    for (const listener of this.lostListeners) listener(shardId);
  }

  /**
   * Subscribes to a topic: a message that is not what it should be is logged and
   * dropped, and nothing a handler throws escapes it.
   */
  private receive<S extends z.ZodType>(
    topic: string,
    schema: S,
    handler: (message: z.output<S>, fromShard: string) => unknown,
  ) {
    this.bus.subscribe(topic, (payload, fromShard) => {
      const failed = (error: unknown) =>
        this.logger.error({ err: error, topic, fromShard }, 'cluster bus message failed');
      try {
        if (typeof fromShard !== 'string' || fromShard === this.cluster.id) return;
        const parsed = schema.safeParse(payload);
        if (!parsed.success) {
          const problem = parsed.error.issues[0];
          return this.logger.warn(
            { topic, fromShard, problem: `${problem?.path.join('.')}: ${problem?.message}` },
            'malformed cluster bus message dropped',
          );
        }
        Promise.resolve(handler(parsed.data, fromShard)).catch(failed);
      } catch (error) {
        failed(error);
      }
    });
  }

  /**
   * To one shard, or every other one (null). What was lost while the bus was unreachable
   * is made good when it is back: this shard swaps its sessions with every other.
   */
  private publish(shardId: string | null, topic: string, payload: unknown) {
    const sent = shardId
      ? this.bus.send(shardId, topic, payload)
      : this.bus.broadcast(topic, payload);
    sent.then(
      () => {
        if (!this.busDown) return;
        this.busDown = false;
        this.logger.info('cluster bus reachable again');
        for (const shard of this.cluster.shards())
          if (shard.id !== this.cluster.id) this.exchange(shard.id, true);
      },
      (error: unknown) => {
        if (!this.busDown) this.logger.warn({ err: error, topic }, 'cluster bus unreachable');
        this.busDown = true;
      },
    );
  }
}

function state(session: XmppSession): SessionState {
  const { localpart, displayName, kind, grant } = session.account;
  return {
    jid: session.full,
    account: { localpart, displayName, kind, grant },
    presence: session.presence?.toString() ?? null,
    interestedInRoster: session.interestedInRoster,
    focusClient: session.focusClient,
    origin: session.origin,
  };
}
