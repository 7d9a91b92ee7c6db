import { Global, Inject, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { createLogger } from './logger';

export const LOGGER = Symbol('LOGGER');
export const InjectLogger = () => Inject(LOGGER);

@Global()
@Module({
  providers: [
    {
      provide: LOGGER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createLogger(config.log.level),
    },
  ],
  exports: [LOGGER],
})
export class LoggingModule {}
