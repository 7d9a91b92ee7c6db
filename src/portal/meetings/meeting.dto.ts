import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { ROLES, Role } from '../../conference/participant';
import { ROOM_ID_PATTERN } from '../../conference/room';
import { IsOmittable, IsPlainText } from '../request-validation';

/** A meeting title: 1-200 characters of plain text. */
const TITLE = { minLength: 1, maxLength: 200, example: 'Weekly stand-up' };
const IsTitle = () => applyDecorators(IsString(), MinLength(1), MaxLength(200), IsPlainText());

/** The rules of a meeting's room, set at creation and changeable later. */
class MeetingRulesDto {
  /** Non-moderators must give it to join; null removes it. */
  @ApiPropertyOptional({ type: String, nullable: true, minLength: 4, maxLength: 128 })
  @IsOptional()
  @IsString()
  @MinLength(4)
  @MaxLength(128)
  password?: string | null;

  /** Non-moderators wait in the lobby until a moderator admits them. */
  @ApiPropertyOptional()
  @IsOmittable()
  @IsBoolean()
  lobby?: boolean;

  /** At most this many people in the room, moderators aside; null: no meeting cap. */
  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 1000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxParticipants?: number | null;
}

export class MeetingDto extends MeetingRulesDto {
  @ApiProperty(TITLE)
  @IsTitle()
  title!: string;

  /** The room slug (its link is /r/<room>); random when absent. */
  @ApiPropertyOptional({ pattern: ROOM_ID_PATTERN.source, example: 'weekly-standup' })
  @IsOmittable()
  @Matches(ROOM_ID_PATTERN, {
    message: 'room must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit',
  })
  room?: string;
}

/** A meeting's changeable settings; absent fields keep their value. */
export class UpdateMeetingDto extends MeetingRulesDto {
  @ApiPropertyOptional(TITLE)
  @IsOmittable()
  @IsTitle()
  title?: string;
}

/** What the API shows of a meeting. */
export class MeetingView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'weekly-standup' }) room!: string;
  @ApiProperty({ example: 'Weekly stand-up' }) title!: string;
  @ApiProperty({ format: 'uuid', description: "The host's user id" }) hostId!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    description: "The shareable link's path: /r/<room>",
    example: '/r/weekly-standup',
  })
  link!: string;
  @ApiProperty() hasPassword!: boolean;
  @ApiProperty({ description: 'Non-moderators wait in the lobby' }) lobby!: boolean;
  @ApiProperty({ type: Number, nullable: true }) maxParticipants!: number | null;
}

/** A join token for a meeting's room, with the role it grants and a ready link. */
export class MeetingJoinToken {
  @ApiProperty() token!: string;
  @ApiProperty() room!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ description: 'Seconds' }) expiresIn!: number;
  @ApiProperty({ description: 'Web client link that joins with this token' }) url!: string;
}
