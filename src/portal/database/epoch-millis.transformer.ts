import { ValueTransformer } from 'typeorm';

/**
 * Instants are stored as milliseconds since the epoch in a bigint column: the one
 * representation SQLite and PostgreSQL share. PostgreSQL hands bigints back as strings.
 */
export const epochMillis: ValueTransformer = {
  to: (value: Date | null | undefined) => (value == null ? value : value.getTime()),
  from: (value: string | number | null) => (value == null ? null : new Date(Number(value))),
};
