import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Repository } from 'typeorm';
import { ApiKey } from './api-key.entity';

/** What the API shows of a key; the secret only once, when the key is created. */
export interface ApiKeyView {
  keyId: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface CreatedApiKey extends ApiKeyView {
  secret: string;
}

/**
 * Secrets are 256 random bits, so one SHA-256 is as strong as a slow password hash
 * here and keeps per-request verification cheap.
 */
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** `VW` and 20 hex digits: what create() makes. Nothing else is looked up. */
const KEY_ID = /^VW[0-9A-F]{20}$/;

const toView = (key: ApiKey): ApiKeyView => ({
  keyId: key.id,
  name: key.name,
  createdAt: key.createdAt.toISOString(),
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

/** API keys: the only access to the api_keys table. */
@Injectable()
export class ApiKeysService {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  async create(name: string, createdBy: string): Promise<CreatedApiKey> {
    const secret = randomBytes(32).toString('base64url');
    const key = await this.keys.save(
      this.keys.create({
        id: `VW${randomBytes(10).toString('hex').toUpperCase()}`,
        name,
        secretHash: hashSecret(secret),
        createdBy,
        createdAt: new Date(),
        revokedAt: null,
      }),
    );
    return { ...toView(key), secret };
  }

  async list(): Promise<ApiKeyView[]> {
    const keys = await this.keys.find({ order: { createdAt: 'ASC' } });
    return keys.map(toView);
  }

  async revoke(keyId: string): Promise<void> {
    const key = await this.find(keyId);
    if (!key) throw new NotFoundException(`no API key ${keyId}`);
    if (!key.revokedAt) await this.keys.update({ id: keyId }, { revokedAt: new Date() });
  }

  /** The key's id when the pair is a live key and its secret, else undefined. */
  async verify(keyId: string, secret: string): Promise<string | undefined> {
    const key = await this.find(keyId);
    const expected = Buffer.from(key?.secretHash ?? hashSecret(''), 'hex');
    const matches = timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), expected);
    return key && !key.revokedAt && matches ? key.id : undefined;
  }

  private async find(keyId: string): Promise<ApiKey | null> {
    return KEY_ID.test(keyId) ? this.keys.findOneBy({ id: keyId }) : null;
  }
}
