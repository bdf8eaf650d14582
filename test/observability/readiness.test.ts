/**
 * /readyz on PostgreSQL: fails while the database cannot be reached (its
 * connections cut, new ones refused) and recovers once it can; fails while a
 * migration of this build is not applied. /healthz stays 200 throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startService, type Service } from '../../src/service.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { VGG19_PATH } from '../helpers/shared-data.js';
import { capturingLogger, testConfig } from './helpers.js';

process.env.STYLEGRAPH_VGG19 = VGG19_PATH;
const SERVER_URL = process.env.STYLEGRAPH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('readiness on PostgreSQL', () => {
  let database: TestDatabase;
  let name: string;
  let service: Service;
  let server: ApiServer;
  const { logger, lines } = capturingLogger('info');

  before(async () => {
    database = await freshDatabase('postgres');
    name = new URL((database.config as { url: string }).url).pathname.slice(1);
    service = await startService(testConfig(database), 'all', { logger });
    server = await startApiServer(service, { host: '127.0.0.1', port: 0, limits: DEFAULT_API_LIMITS });
  });

  after(async () => {
    await onServer(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
    await server?.close();
    await service?.stop();
    await database?.drop();
  });

  const readyz = async () => {
    const response = await fetch(`${server.url}/readyz`);
    return { status: response.status, body: await response.json() as { status: string; checks: Record<string, { ok: boolean; detail: string }> } };
  };

  test('ready, then not while the database is unreachable, then ready again', async () => {
    const first = await readyz();
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'ready');

    // The database "goes down" for this service alone: new connections refused, open ones cut.
    await onServer(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await onServer(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    try {
      const down = await readyz();
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.equal(down.body.status, 'not ready');
      assert.equal(down.body.checks.database.ok, false);
      assert.equal(down.body.checks.migrations.ok, false);
      assert.equal(down.body.checks.worker.ok, true, 'the worker itself still runs');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the process is alive all the same');
      assert.ok(lines.some((l) => l.msg === 'not ready' && l.level === 'warn'), 'a failed readiness check is logged');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^stylegraph_database_up 0$/m, '/metrics still answers, saying the database is down');
    } finally {
      await onServer(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    const deadline = Date.now() + 15_000;
    let again = await readyz();
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      again = await readyz();
    }
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  test('not ready while a migration of this build is not applied', async () => {
    const { rows } = await service.db.sql.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1',
    );
    const latest = rows[0].migration_name;
    await service.db.sql.query('UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1', [latest]);
    try {
      const { status, body } = await readyz();
      assert.equal(status, 503);
      assert.equal(body.checks.migrations.ok, false);
      assert.match(body.checks.migrations.detail, new RegExp(latest));
      assert.equal(body.checks.database.ok, true);
    } finally {
      await service.db.sql.query('UPDATE "_prisma_migrations" SET rolled_back_at = NULL WHERE migration_name = $1', [latest]);
    }
    assert.equal((await readyz()).status, 200);
  });
});
