import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Element, parse } from 'ltx';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module';
import { AppConfig } from '../../../config/config.schema';
import { UsersService } from '../../../portal/users/users.service';
import { Jid } from '../core/jid';
import { copyStanza } from '../core/stanza-copy';
import { NS } from '../core/namespaces';
import { OfflineMessage } from './offline-message.entity';

/**
 * Stanzas kept for portal users while they have no available resource (RFC 6121
 * section 8.5.2.1.1 "offline storage"). Only portal accounts get storage: guests and
 * token identities have nowhere to come back to. Each user has a bounded box.
 */
@Injectable()
export class OfflineStore {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectRepository(OfflineMessage) private readonly messages: Repository<OfflineMessage>,
    private readonly users: UsersService,
  ) {}

  /** Stores `stanza` for `owner` (bare JID); false when there is no box or it is full. */
  async store(owner: string, stanza: Element): Promise<boolean> {
    const jid = Jid.parse(owner);
    if (!jid?.local || !(await this.users.findById(jid.local))) return false;
    const count = await this.messages.countBy({ owner });
    if (count >= this.config.xmpp.maxOfflineMessages) return false;
    const now = new Date();
    const kept = copyStanza(stanza, {});
    if (!kept.getChild('delay', NS.delay))
      kept.c('delay', { xmlns: NS.delay, from: jid.domain, stamp: now.toISOString() });
    await this.messages.insert({
      id: randomUUID(),
      owner,
      stanza: kept.toString(),
      createdAt: now,
    });
    return true;
  }

  /** Removes and returns `owner`'s stored stanzas, oldest first. */
  async takeAll(owner: string): Promise<Element[]> {
    const rows = await this.messages.find({ where: { owner }, order: { createdAt: 'ASC' } });
    if (rows.length === 0) return [];
    await this.messages.delete(rows.map((row) => row.id));
    return rows.map((row) => parse(row.stanza));
  }
}
