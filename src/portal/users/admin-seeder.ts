import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { UsersService } from './users.service';

/** Creates the first administrator from ADMIN_EMAIL and ADMIN_PASSWORD at start-up. */
@Injectable()
export class AdminSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminSeeder.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail: email, adminPassword: password } = this.config.portal;
    if (!email || (await this.users.findByEmail(email))) return;
    await this.users.create({ email, password, displayName: 'Administrator', role: 'admin' });
    this.logger.log(`created the administrator account ${email}`);
  }
}
