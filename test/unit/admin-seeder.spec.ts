/**
 * The first administrator, created at start-up: once, and a failure to create it (another
 * shard on the same database won the race, or the database failed) is logged once and
 * never keeps the shard from starting.
 */
import { ConflictException, Logger } from '@nestjs/common';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { AdminSeeder } from '../../src/portal/users/admin-seeder';
import { User } from '../../src/portal/users/user.entity';
import { UsersService } from '../../src/portal/users/users.service';

const config = loadConfig(
  { NODE_ENV: 'test', ADMIN_EMAIL: 'admin@example.org', ADMIN_PASSWORD: 'admin-password-1' },
  join(__dirname, '..', '..', 'config'),
);

const seederWith = (users: Pick<UsersService, 'findByEmail' | 'create'>) =>
  new AdminSeeder(config, users as UsersService);

describe('AdminSeeder', () => {
  let logged: jest.SpyInstance;
  let failed: jest.SpyInstance;
  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'log').mockImplementation();
    failed = jest.spyOn(Logger.prototype, 'error').mockImplementation();
  });
  afterEach(() => jest.restoreAllMocks());

  it('creates the administrator once', async () => {
    const create = jest.fn(async () => ({}) as User);
    await seederWith({ findByEmail: async () => null, create }).onApplicationBootstrap();
    expect(create).toHaveBeenCalledWith(
      expect.objectContaining({ email: 'admin@example.org', role: 'admin' }),
    );
    await seederWith({ findByEmail: async () => ({}) as User, create }).onApplicationBootstrap();
    expect(create).toHaveBeenCalledTimes(1);
    expect(failed).not.toHaveBeenCalled();
  });

  it('starts when another shard created the account a moment earlier', async () => {
    const seeder = seederWith({
      findByEmail: async () => null,
      create: async () => {
        throw new ConflictException('an account with this e-mail already exists');
      },
    });
    await expect(seeder.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(logged).toHaveBeenCalledWith('the administrator account admin@example.org exists');
    expect(failed).not.toHaveBeenCalled();
  });

  it('logs a database failure once and starts', async () => {
    const seeder = seederWith({
      findByEmail: async () => {
        throw new Error('connection terminated unexpectedly');
      },
      create: async () => ({}) as User,
    });
    await expect(seeder.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(failed).toHaveBeenCalledTimes(1);
    expect(failed.mock.calls[0][0]).toBe(
      'could not create the administrator account admin@example.org: connection terminated unexpectedly',
    );
  });
});
