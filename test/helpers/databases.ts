import { PGlite } from '@electric-sql/pglite';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';

/**
 * Every database test runs on both databases: the embedded PGlite, which
 * serialises everything and so hides races, and the machine's PostgreSQL
 * server (STYLEGRAPH_TEST_POSTGRES_URL, default the local trust-auth one),
 * each time on a fresh, uniquely named database that is dropped afterwards.
 */

export const DATABASE_KINDS = ['pglite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

const SERVER_URL = process.env.STYLEGRAPH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  config: DatabaseConfig;
  /** Environment that points a child process (`stylegraph serve`) at this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

let emptyCluster: Promise<Blob> | undefined;

/** initdb takes seconds; a new data directory is unpacked from one empty cluster per test process. */
async function emptyPgliteDir(): Promise<string> {
  emptyCluster ??= PGlite.create().then(async (pglite) => {
    try {
      return await pglite.dumpDataDir('gzip');
    } finally {
      await pglite.close();
    }
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-test-'));
  const pglite = await PGlite.create({ dataDir, loadDataDir: await emptyCluster });
  await pglite.close();
  return dataDir;
}

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function freshDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dataDir = await emptyPgliteDir();
    return {
      config: { kind, dataDir },
      env: { STYLEGRAPH_DATA_DIR: dataDir, DATABASE_URL: '' },
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `stylegraph_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    config: { kind, url: url.toString() },
    env: { DATABASE_URL: url.toString() },
    drop: async () => { await onServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)); },
  };
}
