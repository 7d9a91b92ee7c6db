import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { ROLES, Role } from '../conference/participant';
import { ROOM_ID_PATTERN } from '../conference/room';
import { MAX_STREAMING_URL_LENGTH } from '../recording/streaming-url';
import { IsOmittable, IsPlainText } from '../portal/request-validation';

export class CreateApiKeyDto {
  @ApiProperty({
    description: 'What the key is for',
    example: 'recording service',
    minLength: 1,
    maxLength: 100,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @IsPlainText()
  name!: string;
}

export class ApiKeyView {
  @ApiProperty({ example: 'VW3F9A0C1D2E4B5A6C7D8' }) keyId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt!: string | null;
}

export class CreatedApiKey extends ApiKeyView {
  @ApiProperty({ description: 'Shown only in this answer; the server keeps a hash' })
  secret!: string;
}

export class MintJoinTokenDto {
  @ApiProperty({ pattern: ROOM_ID_PATTERN.source, example: 'standup' })
  @IsString()
  @Matches(ROOM_ID_PATTERN, { message: 'room must be 1-64 letters, digits, "_", "-", "."' })
  room!: string;

  @ApiProperty({
    description: "The participant's identity (the token's subject)",
    minLength: 1,
    maxLength: 256,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @IsPlainText()
  identity!: string;

  @ApiProperty({ description: 'Display name', minLength: 1, maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @IsPlainText()
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({
    description: 'Lifetime in seconds (default TOKEN_TTL_SECONDS)',
    type: 'integer',
    minimum: 60,
    maximum: 7 * 24 * 3600,
  })
  @IsOmittable()
  @IsInt()
  @Min(60)
  @Max(7 * 24 * 3600)
  ttlSeconds?: number;
}

export class MintedJoinToken {
  @ApiProperty() token!: string;
  @ApiProperty() room!: string;
  @ApiProperty() identity!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ description: 'Seconds' }) expiresIn!: number;
  @ApiProperty({ description: 'Web client link that joins with this token' }) url!: string;
}

export class MuteDto {
  @ApiProperty({ enum: ['audio', 'video'] })
  @IsIn(['audio', 'video'])
  kind!: 'audio' | 'video';
}

export class MuteResult {
  @ApiProperty({ type: [String], description: 'The producers paused now' })
  producerIds!: string[];
}

export class TrackView {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['audio', 'video'] }) kind!: string;
  @ApiProperty({ example: 'camera' }) source!: string;
  @ApiProperty() paused!: boolean;
  @ApiProperty({ description: 'Incoming bits per second, as mediasoup measures it' })
  bitrate!: number;
}

export class ReceivedTrackView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'The producer (a track of another participant) it receives' })
  producerId!: string;
  @ApiProperty({ enum: ['audio', 'video'] }) kind!: string;
  @ApiProperty({ description: 'Paused for this receiver (its client asked for no video of it)' })
  paused!: boolean;
  @ApiProperty({ description: 'The sender paused the track (muted)' }) producerPaused!: boolean;
  @ApiProperty({
    required: false,
    description: 'Simulcast/SVC: the spatial layer the receiver asked for (0 is the lowest)',
  })
  preferredSpatialLayer?: number;
  @ApiProperty({ required: false, description: 'Simulcast/SVC: the spatial layer sent now' })
  currentSpatialLayer?: number;
}

export class ParticipantAdminView {
  @ApiProperty() id!: string;
  @ApiProperty() identity!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ enum: ['socketio', 'xmpp'] }) door!: string;
  @ApiProperty({ format: 'date-time' }) joinedAt!: string;
  @ApiProperty({ type: [TrackView] }) tracks!: TrackView[];
  @ApiProperty({ type: [ReceivedTrackView], description: 'What it receives of the others' })
  receiving!: ReceivedTrackView[];
}

export class RoomAdminView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'The shard that runs the room' }) shard!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ description: 'A locked room refuses new joins except moderators' })
  locked!: boolean;
  @ApiProperty({ type: [ParticipantAdminView] }) participants!: ParticipantAdminView[];
}

export class MediaStatsView {
  @ApiProperty() rooms!: number;
  @ApiProperty() peers!: number;
  @ApiProperty() transports!: number;
  @ApiProperty() producers!: number;
  @ApiProperty() consumers!: number;
}

export class ShardInfo {
  @ApiProperty({ description: 'The shard id in the cluster (SHARD_ID)' }) id!: string;
  @ApiProperty() region!: string;
  @ApiProperty({ enum: ['active', 'draining'] }) state!: string;
  @ApiProperty() hostname!: string;
  @ApiProperty() pid!: number;
  @ApiProperty({ example: 'v22.0.0' }) nodeVersion!: string;
  @ApiProperty({ enum: ['development', 'production', 'test'] }) mode!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty() uptimeSeconds!: number;
  @ApiProperty() rooms!: number;
  @ApiProperty() participants!: number;
  @ApiProperty({ type: MediaStatsView }) media!: MediaStatsView;
}

export class DrainStatusView {
  @ApiProperty({ enum: ['active', 'draining'] }) state!: string;
  @ApiProperty({ description: 'Rooms still running on the shard' }) rooms!: number;
  @ApiProperty({
    format: 'date-time',
    required: false,
    description: 'When the participants left are told to move and the shard exits',
  })
  deadline?: string;
}

export class ShardLoadView {
  @ApiProperty() rooms!: number;
  @ApiProperty() participants!: number;
  @ApiProperty({ description: 'Cores the media workers kept busy lately' }) workerCpu!: number;
}

export class ShardView {
  @ApiProperty() id!: string;
  @ApiProperty() region!: string;
  @ApiProperty() internalUrl!: string;
  @ApiProperty() publicUrl!: string;
  @ApiProperty({ enum: ['active', 'draining'] }) state!: string;
  @ApiProperty({ type: ShardLoadView }) load!: ShardLoadView;
  @ApiProperty({ description: 'When it last announced itself (epoch ms)' }) seenAt!: number;
}

export class RecordedTrackView {
  @ApiProperty({ description: "The file's name in its recording", example: '001-mic-3f2a9c1d.ogg' })
  file!: string;
  @ApiProperty({ enum: ['audio', 'video'] }) kind!: string;
  @ApiProperty({ example: 'camera' }) source!: string;
  @ApiProperty({ example: 'video/VP8' }) codec!: string;
  @ApiProperty({ description: '{id, identity, displayName} of who published it' })
  participant!: { id: string; identity?: string; displayName?: string };
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) endedAt?: string;
  @ApiPropertyOptional() durationSeconds?: number;
  @ApiPropertyOptional() sizeBytes?: number;
}

export class RecordingView {
  @ApiProperty() id!: string;
  @ApiProperty() room!: string;
  @ApiProperty() shard!: string;
  @ApiProperty({ enum: ['recording', 'finished'] }) state!: string;
  @ApiProperty({ description: "'admin', or the moderator's participant id" }) startedBy!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) endedAt?: string;
  @ApiPropertyOptional() durationSeconds?: number;
  @ApiPropertyOptional() sizeBytes?: number;
  @ApiPropertyOptional({
    enum: ['stopped', 'room_closed', 'disk_full', 'media_lost', 'shutdown', 'interrupted'],
  })
  reason?: string;
  @ApiProperty({ type: [RecordedTrackView] }) tracks!: RecordedTrackView[];
  @ApiPropertyOptional({
    description: 'With RECORDING_COMPOSITE: {file, durationSeconds, sizeBytes} of composite.mp4',
  })
  composite?: { file: string; durationSeconds: number; sizeBytes: number };
  @ApiProperty({
    enum: ['local', 's3'],
    description: "Where its files are: the recording shard's directory, or the S3 bucket",
  })
  storage!: string;
  @ApiPropertyOptional({ description: 'Why a finished recording is not in the bucket' })
  storageProblem?: string;
}

export class StartStreamingDto {
  @ApiProperty({
    description: 'The RTMP server and stream key (rtmp:// or rtmps:// only)',
    example: 'rtmp://live.example.org/app/stream-key',
    maxLength: MAX_STREAMING_URL_LENGTH,
  })
  @IsString()
  @MaxLength(MAX_STREAMING_URL_LENGTH)
  @Matches(/^rtmps?:\/\//, { message: 'url must be an rtmp:// or rtmps:// URL' })
  url!: string;
}

export class StreamingView {
  @ApiProperty() id!: string;
  @ApiProperty() room!: string;
  @ApiProperty() shard!: string;
  @ApiProperty({ enum: ['streaming', 'finished'] }) state!: string;
  @ApiProperty({ description: "'admin', or the moderator's participant id" }) startedBy!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({
    description: 'The URL without credentials and stream key',
    example: 'rtmp://live.example.org/app/…',
  })
  destination!: string;
  @ApiPropertyOptional({ format: 'date-time' }) endedAt?: string;
  @ApiPropertyOptional() durationSeconds?: number;
  @ApiPropertyOptional({
    enum: ['stopped', 'room_closed', 'media_lost', 'shutdown', 'stream_failed'],
  })
  reason?: string;
  @ApiPropertyOptional({ description: 'stream_failed: what ffmpeg said' }) problem?: string;
}
