import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { DatabaseConfig } from '../config.js';
import { lockDataDir, type ControlChannel } from './data-dir-lock.js';
import { PrismaClient } from './generated/client.js';
import { applyMigrations } from './migrations.js';
import type { SqlSession } from './sql-session.js';

/** Where storage reports what it recovers from by itself; the service's logger fits it. Storage sits below observability. */
export interface WarningLog {
  warn(details: Record<string, unknown>, message: string): void;
}

const UNHEARD: WarningLog = { warn: () => undefined };

export interface Database {
  kind: DatabaseConfig['kind'];
  prisma: PrismaClient;
  /** Shares Prisma's connection(s): PGlite's single one, or the server pool. */
  sql: SqlSession;
  /** Runs `fn` on one connection held throughout (session-level advisory locks need that). */
  withSession<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** The embedded database's: requests from local commands (`stylegraph tokens`) that cannot open it while this process holds it. */
  control?: ControlChannel;
  close(): Promise<void>;
}

async function openPglite(dataDir: string): Promise<Database> {
  const lock = await lockDataDir(dataDir);
  try {
    const pglite = await PGlite.create({ dataDir });
    // PGlite has one connection: Prisma, pg-boss and migrations all share this instance.
    const sql: SqlSession = {
      async query<Row>(text: string, values?: unknown[]) {
        if (values?.length) return pglite.query<Row>(text, values);
        const results = await pglite.exec(text);
        return { rows: (results.at(-1)?.rows ?? []) as Row[] };
      },
    };
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    return {
      kind: 'pglite',
      prisma,
      sql,
      withSession: (fn) => fn(sql),
      control: { answer: (channel, handler) => lock.answer(channel, handler) },
      async close() {
        try {
          await prisma.$disconnect();
          await pglite.close();
        } finally {
          // Only now: until the database is closed, the directory is still ours.
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

function openPostgres(url: string, logger: WarningLog): Database {
  const pool = new pg.Pool({ connectionString: url });
  // An idle client that loses its server (restart, network) must not crash the process.
  pool.on('error', (err) => logger.warn({ error: err.message }, 'idle database connection failed'));
  const sessionOf = (client: pg.Pool | pg.PoolClient): SqlSession => ({
    async query<Row>(text: string, values?: unknown[]) {
      const result: pg.QueryResult | pg.QueryResult[] = await client.query(text, values);
      // A script of several statements gives one result per statement.
      const last = Array.isArray(result) ? result.at(-1) : result;
      return { rows: (last?.rows ?? []) as Row[] };
    },
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    sql: sessionOf(pool),
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn(sessionOf(client));
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Opens the configured database and brings its schema up to date: the
 * embedded PGlite in a data directory (created on first use), or a PostgreSQL
 * server named by DATABASE_URL.
 */
export async function openDatabase(config: DatabaseConfig, migrationsDir: string, logger: WarningLog = UNHEARD): Promise<Database> {
  const db = config.kind === 'pglite' ? await openPglite(config.dataDir) : openPostgres(config.url, logger);
  try {
    await applyMigrations(db, migrationsDir);
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}
