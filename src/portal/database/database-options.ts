import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { AppConfig } from '../../config/config.schema';
import { RefreshToken } from '../users/refresh-token.entity';
import { User } from '../users/user.entity';
import { Meeting } from '../meetings/meeting.entity';
import { CreateUsers1764040000000 } from './migrations/1764040000000-create-users';
import { CreateMeetings1764050000000 } from './migrations/1764050000000-create-meetings';
import { ApiKey } from '../api-keys/api-key.entity';
import { MeetingSettings1764060000000 } from './migrations/1764060000000-meeting-settings';
import { CreateApiKeys1764070000000 } from './migrations/1764070000000-create-api-keys';
import { CreateXmppStorage1764080000000 } from './migrations/1764080000000-create-xmpp-storage';
import { RosterItem } from '../../signaling/xmpp/roster/roster-item.entity';
import { OfflineMessage } from '../../signaling/xmpp/message/offline-message.entity';

const IN_MEMORY_SQLITE = ':memory:';

/**
 * PostgreSQL when database.url is set, else the embedded SQLite file. The schema is
 * built by the migrations, run at start-up; never by synchronisation.
 */
export function databaseOptions(database: AppConfig['database']): DataSourceOptions {
  const common: Pick<
    DataSourceOptions,
    'entities' | 'migrations' | 'migrationsRun' | 'synchronize' | 'logging'
  > = {
    entities: [User, RefreshToken, Meeting, ApiKey, RosterItem, OfflineMessage],
    migrations: [
      CreateUsers1764040000000,
      CreateMeetings1764050000000,
      MeetingSettings1764060000000,
      CreateApiKeys1764070000000,
      CreateXmppStorage1764080000000,
    ],
    migrationsRun: true,
    synchronize: false,
    logging: false,
  };
  if (database.url) return { type: 'postgres', url: database.url, ...common };
  if (database.sqlitePath !== IN_MEMORY_SQLITE) prepareSqliteFile(database.sqlitePath);
  return { type: 'better-sqlite3', database: database.sqlitePath, ...common };
}

/**
 * Makes the SQLite file's directory and checks that this process may write it and the
 * file: SQLite itself would only say "unable to open database file", and TypeORM retries
 * that for half a minute. SQLite also writes its journal next to the file.
 */
function prepareSqliteFile(sqlitePath: string): void {
  const file = resolve(sqlitePath);
  const directory = dirname(file);
  try {
    mkdirSync(directory, { recursive: true });
    accessSync(directory, constants.W_OK | constants.X_OK);
    if (existsSync(file)) accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    const uid = process.getuid?.();
    throw new Error(
      `cannot use the SQLite database ${file} as uid ${uid}: ${(error as Error).message}. ` +
        `Make ${directory} and the file writable for uid ${uid}, ` +
        'or set DATABASE_SQLITE_PATH (or DATABASE_URL) to another place.',
    );
  }
}
