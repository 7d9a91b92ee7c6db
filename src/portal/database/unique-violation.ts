import { QueryFailedError } from 'typeorm';

/** SQLite's (better-sqlite3) and PostgreSQL's codes for a row a unique index refused. */
const UNIQUE_VIOLATIONS = new Set([
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
  '23505',
]);

/** True when a write failed because the row's key is taken: a conflict (409), not a fault. */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof QueryFailedError &&
  UNIQUE_VIOLATIONS.has((error.driverError as { code?: string }).code ?? '');
