import { ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { AuthenticatedUser } from '../auth/access-tokens';
import { JoinTokenService } from '../join-token.service';
import { UsersService } from '../users/users.service';
import { Meeting } from './meeting.entity';
import { MeetingJoinToken, MeetingView } from './meeting.dto';

const toView = (meeting: Meeting): MeetingView => ({
  id: meeting.id,
  room: meeting.room,
  title: meeting.title,
  hostId: meeting.hostId,
  createdAt: meeting.createdAt.toISOString(),
});

/** Meetings and their join tokens: the only access to the meetings table. */
@Injectable()
export class MeetingsService {
  constructor(
    @InjectRepository(Meeting) private readonly meetings: Repository<Meeting>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly joinTokens: JoinTokenService,
  ) {}

  async create(host: AuthenticatedUser, title: string): Promise<MeetingView> {
    const meeting = await this.meetings.save(
      this.meetings.create({
        id: randomUUID(),
        room: randomBytes(12).toString('base64url').replace(/^[-_]/, 'm'),
        title,
        hostId: host.id,
        createdAt: new Date(),
      }),
    );
    return toView(meeting);
  }

  /** The caller's meetings; an admin sees every meeting. */
  async list(caller: AuthenticatedUser): Promise<MeetingView[]> {
    const where = caller.role === 'admin' ? {} : { hostId: caller.id };
    const meetings = await this.meetings.find({ where, order: { createdAt: 'ASC' } });
    return meetings.map(toView);
  }

  async get(id: string): Promise<MeetingView> {
    return toView(await this.find(id));
  }

  async rename(caller: AuthenticatedUser, id: string, title: string): Promise<MeetingView> {
    const meeting = await this.findManaged(caller, id);
    meeting.title = title;
    return toView(await this.meetings.save(meeting));
  }

  async remove(caller: AuthenticatedUser, id: string): Promise<void> {
    await this.meetings.delete((await this.findManaged(caller, id)).id);
  }

  /** A join token for the meeting's room: the host joins as moderator, others as participants. */
  async joinToken(caller: AuthenticatedUser, id: string): Promise<MeetingJoinToken> {
    const meeting = await this.find(id);
    const user = await this.users.findById(caller.id);
    if (!user) throw new NotFoundException('the account no longer exists');
    const role = meeting.hostId === user.id ? 'moderator' : 'participant';
    const expiresIn = this.config.auth.tokenTtlSeconds;
    const token = this.joinTokens.mint(
      { room: meeting.room, identity: user.id, name: user.displayName, role },
      expiresIn,
    );
    const url = `/r/${encodeURIComponent(meeting.room)}?token=${encodeURIComponent(token)}`;
    return { token, room: meeting.room, role, expiresIn, url };
  }

  private async find(id: string): Promise<Meeting> {
    const meeting = await this.meetings.findOneBy({ id });
    if (!meeting) throw new NotFoundException('no such meeting');
    return meeting;
  }

  /** A meeting the caller may change: their own, or any for an admin. */
  private async findManaged(caller: AuthenticatedUser, id: string): Promise<Meeting> {
    const meeting = await this.find(id);
    if (meeting.hostId !== caller.id && caller.role !== 'admin')
      throw new ForbiddenException('only the host or an admin may change this meeting');
    return meeting;
  }
}
