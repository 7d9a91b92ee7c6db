import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { RecordingService } from './recording.service';
import { RecordingStorage } from './recording-storage';
import { StreamingService } from './streaming.service';

/**
 * Recording and live-streaming rooms without a browser: mediasoup plain transports into
 * ffmpeg (config: recording).
 */
@Module({
  imports: [ConferenceModule],
  providers: [RecordingService, RecordingStorage, StreamingService],
  exports: [RecordingService, StreamingService],
})
export class RecordingModule {}
