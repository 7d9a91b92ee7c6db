import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { AccessTokenStrategy } from './auth/access-token.strategy';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
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
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => databaseOptions(config.database),
    }),
    TypeOrmModule.forFeature([User, RefreshToken, Meeting]),
    PassportModule,
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ ttl: 60_000, limit: config.portal.loginRateLimitPerMinute }],
        errorMessage: 'too many login attempts from this address; try again in a minute',
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
    AdminSeeder,
    MeetingsService,
  ],
  exports: [JoinTokenService, UsersService],
})
export class PortalModule {}
