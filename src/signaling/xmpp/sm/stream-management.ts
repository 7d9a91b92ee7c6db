import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Element } from 'ltx';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import { NS } from '../core/namespaces';
import { XmppSession } from '../core/xmpp-session';

/** Ask the client for an acknowledgement once this many stanzas are unacknowledged. */
const ACK_REQUEST_EVERY = 20;
/** A session holding more unacknowledged stanzas than this is ended. */
export const MAX_UNACKED = 10_000;

/**
 * Stream Management (XEP-0198): acknowledgements, and resumption of a session whose
 * WebSocket dropped. A dropped resumable session waits `resumeSeconds` for a new stream
 * to resume it; stanzas sent to it meanwhile are kept and replayed.
 */
@Injectable()
export class StreamManagement implements OnApplicationShutdown {
  private readonly resumable = new Map<string, XmppSession>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly resumeSeconds: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.resumeSeconds = config.xmpp.resumeSeconds;
  }

  /** Answers <enable/>: starts counting, and makes the session resumable if asked. */
  enable(session: XmppSession, request: Element): Element {
    if (session.sm) return this.failed('unexpected-request');
    const wantsResume = ['true', '1'].includes(request.attrs.resume as string);
    const resumable = wantsResume && this.resumeSeconds > 0;
    const id = randomBytes(16).toString('hex');
    session.sm = { id, resumable, handledInbound: 0, sentOutbound: 0, unacked: [] };
    if (resumable) {
      this.resumable.set(id, session);
      session.onEnd(() => this.forget(id));
    }
    return new Element('enabled', {
      xmlns: NS.sm,
      id,
      ...(resumable ? { resume: 'true', max: String(this.resumeSeconds) } : {}),
    });
  }

  /** Counts a stanza received from the client. */
  countInbound(session: XmppSession): void {
    if (session.sm) session.sm.handledInbound++;
  }

  /** Whether the client let more stanzas go unacknowledged than the server keeps. */
  overflowing(session: XmppSession): boolean {
    return (session.sm?.unacked.length ?? 0) > MAX_UNACKED;
  }

  /** Whether the server should send <r/> after the stanza it just sent. */
  wantsAck(session: XmppSession): boolean {
    return (
      !!session.sm &&
      session.sm.unacked.length % ACK_REQUEST_EVERY === 0 &&
      session.sm.unacked.length > 0
    );
  }

  /**
   * Applies the client's <a h=.../>: drops what it has received. False when it
   * acknowledges stanzas never sent; a stale (lower) count is ignored, since some
   * clients (xmpp.js 0.14) occasionally send one.
   */
  acknowledge(session: XmppSession, h: number): boolean {
    const sm = session.sm;
    if (!sm || !Number.isInteger(h) || h < 0) return false;
    const acknowledgedBefore = sm.sentOutbound - sm.unacked.length;
    const newlyAcknowledged = h - acknowledgedBefore;
    if (newlyAcknowledged > sm.unacked.length) return false;
    if (newlyAcknowledged > 0) sm.unacked.splice(0, newlyAcknowledged);
    return true;
  }

  ackAnswer(session: XmppSession): Element {
    return new Element('a', { xmlns: NS.sm, h: String(session.sm?.handledInbound ?? 0) });
  }

  /** The stream under a session dropped: keep a resumable session for a while. */
  hibernate(session: XmppSession): boolean {
    if (!session.sm?.resumable || session.ended) return false;
    const { id } = session.sm;
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => session.end('timeout'), this.resumeSeconds * 1000).unref(),
    );
    if (this.overflowing(session)) session.end('error');
    return true;
  }

  /**
   * The session `previd` names, if `bareJid` owns it and it can still be resumed, with
   * the client's count `h` applied: `unexpected-request` for a count that does not fit
   * (the session then keeps waiting for a proper resumption, or its expiry).
   */
  takeForResumption(
    previd: string,
    bareJid: string,
    h: number,
  ): XmppSession | 'item-not-found' | 'unexpected-request' {
    const session = this.resumable.get(previd);
    if (!session || session.ended || session.bare !== bareJid) return 'item-not-found';
    if (!this.acknowledge(session, h)) return 'unexpected-request';
    clearTimeout(this.timers.get(previd));
    this.timers.delete(previd);
    return session;
  }

  resumed(session: XmppSession, previd: string): Element {
    return new Element('resumed', {
      xmlns: NS.sm,
      previd,
      h: String(session.sm?.handledInbound ?? 0),
    });
  }

  failed(condition: string, h?: number): Element {
    const failed = new Element('failed', {
      xmlns: NS.sm,
      ...(h === undefined ? {} : { h: String(h) }),
    });
    failed.c(condition, { xmlns: NS.stanzas });
    return failed;
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private forget(id: string) {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.resumable.delete(id);
  }
}
