import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { Role } from '../../conference/participant';

export class MeetingDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Weekly stand-up' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title!: string;
}

/** What the API shows of a meeting. */
export interface MeetingView {
  id: string;
  room: string;
  title: string;
  hostId: string;
  createdAt: string;
}

/** A join token for a meeting's room, with the role it grants and a ready link. */
export interface MeetingJoinToken {
  token: string;
  room: string;
  role: Role;
  expiresIn: number;
  url: string;
}
