/**
 * Starts a real shard in this process on a free port, with the test configuration.
 * The portal database is an in-memory SQLite one unless `env` names another
 * (DATABASE_URL or DATABASE_SQLITE_PATH, see test-databases.ts).
 */
import { NestExpressApplication } from '@nestjs/platform-express';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AppConfig } from '../../src/config/config.schema';
import { loadConfig } from '../../src/config/load-config';
import { createShard } from '../../src/main';

export interface TestShard {
  app: NestExpressApplication;
  config: AppConfig;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startShard(env: Record<string, string> = {}): Promise<TestShard> {
  const config = loadConfig(
    { NODE_ENV: 'test', PORT: '0', ...env },
    join(__dirname, '..', '..', 'config'),
  );
  const app = await createShard(config);
  await app.listen(config.http.port, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}
