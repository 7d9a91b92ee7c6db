import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule, ThrottlerStorage } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClusterModule, RATE_LIMIT_STORAGE } from '../cluster/cluster.module';
import { APP_CONFIG } from '../config/config.module';
import { ConferenceModule } from '../conference/conference.module';
import { AppConfig } from '../config/config.schema';
import { ApiKey } from './api-keys/api-key.entity';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AccessTokenGuard, AccessTokenStrategy } from './auth/access-token.strategy';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { rateLimits } from './auth/rate-limits';
import { RefreshTokensService } from './auth/refresh-tokens.service';
import { databaseOptions } from './database/database-options';
import { JoinTokenService } from './join-token.service';
import { Meeting } from './meetings/meeting.entity';
import { MeetingsController } from './meetings/meetings.controller';
import { MeetingsService } from './meetings/meetings.service';
import { AdminSeeder } from './users/admin-seeder';
import { MeController } from './users/me.controller';
import { RefreshToken } from './users/refresh-token.entity';
import { User } from './users/user.entity';
import { UsersService } from './users/users.service';

@Module({
  imports: [
    ConferenceModule,
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => databaseOptions(config.database),
    }),
    TypeOrmModule.forFeature([User, RefreshToken, Meeting, ApiKey]),
    PassportModule,
    ThrottlerModule.forRootAsync({
      imports: [ClusterModule],
      inject: [APP_CONFIG, RATE_LIMIT_STORAGE],
      useFactory: (config: AppConfig, storage?: ThrottlerStorage) => ({
        ...rateLimits(config.portal),
        storage,
      }),
    }),
  ],
  controllers: [AuthController, MeController, MeetingsController],
  providers: [
    JoinTokenService,
    UsersService,
    RefreshTokensService,
    AuthService,
    AccessTokenStrategy,
    AccessTokenGuard,
    AdminSeeder,
    MeetingsService,
    ApiKeysService,
  ],
  exports: [JoinTokenService, ApiKeysService, UsersService, AccessTokenGuard],
})
export class PortalModule {}
