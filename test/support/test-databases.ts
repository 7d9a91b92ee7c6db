/**
 * The databases the portal suites run against: a fresh SQLite file, and a fresh schema
 * in the PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
 * Each `create()` gives an empty database and a `drop()` that removes it again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface TestDatabase {
  /** Environment for startShard: DATABASE_URL or DATABASE_SQLITE_PATH. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export interface TestDatabaseKind {
  name: string;
  create(): Promise<TestDatabase>;
}

export const POSTGRES_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const sqlite: TestDatabaseKind = {
  name: 'SQLite',
  create: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'video-window-db-'));
    return {
      env: { DATABASE_SQLITE_PATH: join(dir, 'portal.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const postgres: TestDatabaseKind = {
  name: 'PostgreSQL',
  create: async () => {
    const schema = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = async (sql: string) => {
      const client = new Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE SCHEMA "${schema}"`);
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return {
      env: { DATABASE_URL: url.toString() },
      drop: () => admin(`DROP SCHEMA "${schema}" CASCADE`),
    };
  },
};

export const TEST_DATABASES: TestDatabaseKind[] = [sqlite, postgres];
