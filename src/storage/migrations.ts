import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ADVISORY_LOCKS } from './advisory-locks.js';
import type { SqlSession } from './sql-session.js';

/**
 * Applies the committed prisma/migrations at start-up without Prisma's native
 * schema engine (which cannot run offline). Each applied migration is recorded
 * in Prisma's own `_prisma_migrations` table with Prisma's checksum, so Prisma's
 * tools agree about what has been applied.
 */


export interface Migration {
  name: string;
  script: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script).digest('hex');
}

/** The migrations in a prisma/migrations folder, oldest first (the names start with a timestamp). */
export function readMigrations(migrationsDir: string): Migration[] {
  return fs.readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const script = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, script, checksum: migrationChecksum(script) };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

const CREATE_HISTORY_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

/** Refuses a history this build cannot safely continue from. */
function checkHistory(applied: AppliedRow[], migrations: Migration[]): void {
  const known = new Map(migrations.map((m) => [m.name, m]));
  for (const row of applied) {
    if (row.rolled_back_at) continue;
    const migration = known.get(row.migration_name);
    if (!migration) {
      throw new MigrationError(`the database has migration ${row.migration_name}, which this build does not know (a newer version applied it?)`);
    }
    if (!row.finished_at) {
      throw new MigrationError(`migration ${row.migration_name} failed earlier; repair the database, then mark it rolled back`);
    }
    if (row.checksum !== migration.checksum) {
      throw new MigrationError(`migration ${row.migration_name} was edited after it was applied; add a new migration instead`);
    }
  }
}

async function applyOne(session: SqlSession, migration: Migration): Promise<void> {
  // PostgreSQL runs DDL in transactions: a failing migration leaves nothing behind.
  await session.query('BEGIN');
  try {
    await session.query(migration.script);
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await session.query('COMMIT');
  } catch (err) {
    await session.query('ROLLBACK');
    throw new MigrationError(`migration ${migration.name} failed: ${(err as Error).message}`);
  }
}

/** Brings the schema up to date; safe when several processes start at once. Returns the names applied. */
export async function applyMigrations(db: { withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> }, migrationsDir: string): Promise<string[]> {
  const migrations = readMigrations(migrationsDir);
  return db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.prismaMigrate]);
    try {
      await session.query(CREATE_HISTORY_TABLE);
      const { rows } = await session.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
      );
      checkHistory(rows, migrations);
      const done = new Set(rows.filter((r) => !r.rolled_back_at).map((r) => r.migration_name));
      const pending = migrations.filter((m) => !done.has(m.name));
      for (const migration of pending) await applyOne(session, migration);
      return pending.map((m) => m.name);
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.prismaMigrate]);
    }
  });
}
