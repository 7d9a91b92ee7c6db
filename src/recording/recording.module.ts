import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { ConferenceModule } from '../conference/conference.module';
import type { Logger } from '../observability/logger';
import { LOGGER } from '../observability/logging.module';
import { RecordingService } from './recording.service';
import { LocalRecordingStorage, RecordingStorage } from './recording-storage';
import { S3RecordingStorage } from './s3-recording-storage';
import { StreamingService } from './streaming.service';

/**
 * Recording and live-streaming rooms without a browser: mediasoup plain transports into
 * ffmpeg (config: recording). Finished recordings stay in the recordings directory, or go
 * to an S3-compatible bucket when recording.s3.bucket is set.
 */
@Module({
  imports: [ConferenceModule],
  providers: [
    RecordingService,
    {
      provide: RecordingStorage,
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger): RecordingStorage =>
        config.recording.s3.bucket
          ? new S3RecordingStorage(config, logger)
          : new LocalRecordingStorage(config),
    },
    StreamingService,
  ],
  exports: [RecordingService, StreamingService],
})
export class RecordingModule {}
