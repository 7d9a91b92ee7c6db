import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config.schema';
import { UsersService } from './users.service';

/**
 * Creates the first administrator from ADMIN_EMAIL and ADMIN_PASSWORD at start-up. A
 * failure is logged and the shard starts anyway: it serves rooms without the account.
 */
@Injectable()
export class AdminSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminSeeder.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { adminEmail: email, adminPassword: password } = this.config.portal;
    if (!email) return;
    try {
      if (await this.users.findByEmail(email)) return;
      await this.users.create({ email, password, displayName: 'Administrator', role: 'admin' });
      this.logger.log(`created the administrator account ${email}`);
    } catch (error) {
      // Shards starting together on one database race to create it; one wins.
      if (error instanceof ConflictException) {
        this.logger.log(`the administrator account ${email} exists`);
        return;
      }
      const { message, stack } = error as Error;
      this.logger.error(`could not create the administrator account ${email}: ${message}`, stack);
    }
  }
}
