import {
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { AuthenticatedUser } from '../auth/access-tokens';
import { JoinTokenService } from '../join-token.service';
import { UsersService } from '../users/users.service';
import { isUniqueViolation } from '../database/unique-violation';
import { Meeting } from './meeting.entity';
import { MeetingDto, MeetingJoinToken, MeetingView, UpdateMeetingDto } from './meeting.dto';
import { ConferenceService } from '../../conference/conference.service';
import { RoomPolicy, RoomPolicyProvider } from '../../conference/room-policy';
import { hashPassword, verifyPassword } from '../users/password-hasher';

const toView = (meeting: Meeting): MeetingView => ({
  id: meeting.id,
  room: meeting.room,
  title: meeting.title,
  hostId: meeting.hostId,
  createdAt: meeting.createdAt.toISOString(),
  link: `/r/${encodeURIComponent(meeting.room)}`,
  hasPassword: meeting.passwordHash !== null,
  lobby: meeting.lobby,
  maxParticipants: meeting.maxParticipants,
});

/**
 * Meetings, their join tokens and the door rules of their rooms: the only access to the
 * meetings table.
 */
@Injectable()
export class MeetingsService implements RoomPolicyProvider, OnModuleInit {
  constructor(
    @InjectRepository(Meeting) private readonly meetings: Repository<Meeting>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly joinTokens: JoinTokenService,
    private readonly conference: ConferenceService,
  ) {}

  /** Meeting rooms follow their meeting's rules. */
  onModuleInit() {
    this.conference.usePolicies(this);
  }

  async create(host: AuthenticatedUser, dto: MeetingDto): Promise<MeetingView> {
    const room = dto.room ?? randomBytes(12).toString('base64url').replace(/^[-_]/, 'm');
    const meeting = this.meetings.create({
      id: randomUUID(),
      room,
      title: dto.title,
      hostId: host.id,
      passwordHash: null,
      lobby: false,
      maxParticipants: null,
      createdAt: new Date(),
    });
    await this.applySettings(meeting, dto);
    try {
      return toView(await this.meetings.save(meeting));
    } catch (error) {
      // The unique index on room decides, also between two concurrent requests.
      throw isUniqueViolation(error)
        ? new ConflictException(`the room name "${room}" is taken`)
        : error;
    }
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

  async update(caller: AuthenticatedUser, id: string, dto: UpdateMeetingDto): Promise<MeetingView> {
    const meeting = await this.findManaged(caller, id);
    await this.applySettings(meeting, dto);
    return toView(await this.meetings.save(meeting));
  }

  /** The door rules of the room a meeting takes place in, if the room is a meeting's. */
  async policyFor(room: string): Promise<RoomPolicy | undefined> {
    const meeting = await this.meetings.findOneBy({ room });
    if (!meeting) return undefined;
    const { passwordHash, lobby, maxParticipants } = meeting;
    return {
      lobby,
      maxParticipants: maxParticipants ?? undefined,
      checkPassword: passwordHash
        ? (candidate) => verifyPassword(candidate, passwordHash)
        : undefined,
    };
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

  private async applySettings(meeting: Meeting, dto: UpdateMeetingDto) {
    if (dto.title !== undefined) meeting.title = dto.title;
    if (dto.lobby !== undefined) meeting.lobby = dto.lobby;
    if (dto.maxParticipants !== undefined) meeting.maxParticipants = dto.maxParticipants;
    if (dto.password !== undefined) {
      meeting.passwordHash = dto.password === null ? null : await hashPassword(dto.password);
    }
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
