import { Module } from '@nestjs/common';
import { ConferenceModule } from '../conference/conference.module';
import { RecordingService } from './recording.service';
import { RecordingStorage } from './recording-storage';

/** Recording rooms without a browser: mediasoup plain transports into ffmpeg (config: recording). */
@Module({
  imports: [ConferenceModule],
  providers: [RecordingService, RecordingStorage],
  exports: [RecordingService],
})
export class RecordingModule {}
