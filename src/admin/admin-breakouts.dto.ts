import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type { BreakoutAssignment, BreakoutState } from '../conference/breakout-rooms';
import { IsOmittable, IsPlainText } from '../portal/request-validation';

const ASSIGNMENTS: BreakoutAssignment[] = ['manual', 'evenly', 'randomly'];

export class CreateBreakoutsDto {
  @ApiPropertyOptional({ description: 'How many rooms ("Room 1"…), unless names are given' })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(1000)
  count?: number;

  @ApiPropertyOptional({ type: [String], example: ['Design', 'Backend'] })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  @IsPlainText()
  names?: string[];

  @ApiPropertyOptional({
    enum: ASSIGNMENTS,
    description: 'evenly/randomly: everyone but moderators goes at once (default manual)',
  })
  @IsOmittable()
  @IsIn(ASSIGNMENTS)
  assign?: BreakoutAssignment;

  @ApiPropertyOptional({ description: 'Participants may pick a breakout room themselves' })
  @IsOmittable()
  @IsBoolean()
  allowChoice?: boolean;

  @ApiPropertyOptional({ description: 'The rooms close and everyone returns after this long' })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(24 * 3600)
  durationSeconds?: number;
}

export class BreakoutParticipantView {
  @ApiProperty() id!: string;
  @ApiProperty() displayName!: string;
}

export class BreakoutRoomAdminView {
  @ApiProperty({ example: 'standup.breakout-1' }) id!: string;
  @ApiProperty({ example: 'Room 1' }) name!: string;
  @ApiProperty({ type: [BreakoutParticipantView] }) participants!: BreakoutParticipantView[];
}

export class BreakoutsAdminView {
  @ApiProperty() mainRoom!: string;
  @ApiProperty() allowChoice!: boolean;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'When the timer closes the rooms' })
  endsAt?: string;
  @ApiProperty({ type: [BreakoutRoomAdminView] }) rooms!: BreakoutRoomAdminView[];
}

export const breakoutsAdminView = (state: BreakoutState): BreakoutsAdminView => ({
  mainRoom: state.mainRoomId,
  allowChoice: state.allowChoice,
  startedAt: state.startedAt.toISOString(),
  endsAt: state.endsAt?.toISOString(),
  rooms: state.rooms.map(({ id, name, participants }) => ({
    id,
    name,
    participants: participants.map((p) => ({ id: p.id, displayName: p.displayName })),
  })),
});
