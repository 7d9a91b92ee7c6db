import { ConflictException, Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { isUniqueViolation } from '../database/unique-violation';
import { hashPassword } from './password-hasher';
import { createScramCredentials } from './scram-credentials';
import { User, USER_ROLES, UserRole } from './user.entity';

export interface NewUser {
  email: string;
  password: string;
  displayName: string;
  role: UserRole;
}

/** What the API shows of a user. */
export class UserProfile {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: USER_ROLES }) role!: UserRole;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const toProfile = (user: User): UserProfile => ({
  id: user.id,
  email: user.email,
  displayName: user.displayName,
  role: user.role,
  createdAt: user.createdAt.toISOString(),
});

/** The only access to the users table. */
@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email: normalizeEmail(email) });
  }

  /** Creates a user with a scrypt password hash and SCRAM verifiers; 409 when taken. */
  async create({ email, password, displayName, role }: NewUser): Promise<User> {
    const conflict = () => new ConflictException('an account with this e-mail already exists');
    if (await this.findByEmail(email)) throw conflict();
    const user = this.users.create({
      id: randomUUID(),
      email: normalizeEmail(email),
      displayName,
      role,
      passwordHash: await hashPassword(password),
      scramCredentialsJson: JSON.stringify(createScramCredentials(password)),
      failedLogins: 0,
      lockedUntil: null,
      createdAt: new Date(),
    });
    try {
      return await this.users.save(user);
    } catch (error) {
      // A concurrent registration won the unique index.
      throw isUniqueViolation(error) ? conflict() : error;
    }
  }

  /** Counts a failed login; at maxFailures the account is locked until lockedUntil. */
  async recordFailedLogin(user: User, maxFailures: number, lockoutMs: number): Promise<void> {
    const failedLogins = user.failedLogins + 1;
    if (failedLogins >= maxFailures)
      await this.users.update(user.id, {
        failedLogins: 0,
        lockedUntil: new Date(Date.now() + lockoutMs),
      });
    else await this.users.update(user.id, { failedLogins });
  }

  async clearFailedLogins(user: User): Promise<void> {
    if (user.failedLogins !== 0 || user.lockedUntil !== null)
      await this.users.update(user.id, { failedLogins: 0, lockedUntil: null });
  }
}
