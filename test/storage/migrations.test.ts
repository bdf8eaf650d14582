import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { openDatabase } from '../../src/storage/database.js';
import { migrationDiff, SCHEMA_PATH } from '../../src/storage/migration-tool.js';
import { applyMigrations, readMigrations } from '../../src/storage/migrations.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';

describe('schema.prisma and prisma/migrations', () => {
  test('agree (create a migration with npm run db:migrate:create -- <name>)', async () => {
    const drift = await migrationDiff(fs.readFileSync(SCHEMA_PATH, 'utf8'), MIGRATIONS_DIR);
    assert.equal(drift, null, `missing migration:\n${drift}`);
  });

  test('a change to the schema without a migration is drift', async () => {
    const changed = fs.readFileSync(SCHEMA_PATH, 'utf8').replace('  error          String?', '  error          String?\n  note String?');
    const drift = await migrationDiff(changed, MIGRATIONS_DIR);
    assert.match(drift ?? '', /ALTER TABLE "runs" ADD COLUMN\s+"note" TEXT/);
  });
});

for (const kind of DATABASE_KINDS) {
  describe(`migrations at start-up on ${kind}`, () => {
    test('apply once, are recorded as Prisma records them, and the next start applies nothing', async () => {
      const database = await freshDatabase(kind);
      try {
        const db = await openDatabase(database.config, MIGRATIONS_DIR);
        try {
          const { rows } = await db.sql.query<{ migration_name: string; checksum: string }>('SELECT migration_name, checksum FROM "_prisma_migrations"');
          assert.deepEqual(rows.map((r) => [r.migration_name, r.checksum]), readMigrations(MIGRATIONS_DIR).map((m) => [m.name, m.checksum]));
          assert.deepEqual(await applyMigrations(db, MIGRATIONS_DIR), []);
        } finally {
          await db.close();
        }
      } finally {
        await database.drop();
      }
    });

    test('stored data survives the later migrations: finished runs lose their checkpoints, images are cut into pieces and are still (one frame)', async () => {
      const database = await freshDatabase(kind);
      const before = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-migrations-'));
      try {
        fs.cpSync(MIGRATIONS_DIR, before, { recursive: true });
        // The database as it stood before these two migrations (and the ones after them).
        const names = readMigrations(before).map((migration) => migration.name);
        const first = names.findIndex((name) => name.endsWith('drop_finished_runs_checkpoints'));
        assert.ok(first > 0);
        assert.match(names[first + 1], /image_chunks$/);
        for (const name of names.slice(first)) fs.rmSync(path.join(before, name), { recursive: true });
        const old = await openDatabase(database.config, before);
        try {
          await old.sql.query(`INSERT INTO images (sha256, "mimeType", width, height, "byteSize", bytes) VALUES ('${'a'.repeat(64)}', 'image/png', 1, 1, 1, '\\x00')`);
          // 2.5 MiB: three pieces of at most 1 MiB.
          await old.sql.query(`INSERT INTO images (sha256, "mimeType", width, height, "byteSize", bytes) VALUES ('${'b'.repeat(64)}', 'image/png', 1, 1, 2621440, decode(repeat('ab', 2621440), 'hex'))`);
          for (const [id, status] of [['00000000-0000-4000-8000-000000000001', 'SUCCEEDED'], ['00000000-0000-4000-8000-000000000002', 'RUNNING']]) {
            await old.sql.query(`INSERT INTO runs (id, "jobId", params, seed, "contentSha256", status) VALUES ($1, gen_random_uuid(), '{}', 0, '${'a'.repeat(64)}', $2)`, [id, status]);
            await old.sql.query(`INSERT INTO run_checkpoints ("runId", epoch, step, scale, width, height, image, optimizer, state, "updatedAt") VALUES ($1, 1, 1, 0, 1, 1, '\\x00', 'adam', '\\x00', now())`, [id]);
          }
        } finally {
          await old.close();
        }
        const db = await openDatabase(database.config, MIGRATIONS_DIR);
        try {
          const { rows } = await db.sql.query<{ runId: string }>('SELECT "runId"::text AS "runId" FROM run_checkpoints');
          assert.deepEqual(rows.map((row) => row.runId), ['00000000-0000-4000-8000-000000000002']);
          const pieces = await db.sql.query<{ sha256: string; sizes: number[] }>(
            'SELECT "imageSha256" AS sha256, array_agg(length(data) ORDER BY position) AS sizes FROM image_chunks GROUP BY "imageSha256" ORDER BY 1');
          assert.deepEqual(pieces.rows.map((row) => [row.sha256[0], row.sizes]), [['a', [1]], ['b', [1048576, 1048576, 524288]]]);
          const whole = await db.sql.query<{ same: boolean }>(`SELECT string_agg(data, ''::bytea ORDER BY position) = decode(repeat('ab', 2621440), 'hex') AS same FROM image_chunks WHERE "imageSha256" = '${'b'.repeat(64)}'`);
          assert.equal(whole.rows[0].same, true);
          const frames = await db.sql.query<{ frames: number; durationMs: number | null }>('SELECT frames, "durationMs" FROM images ORDER BY sha256');
          assert.deepEqual(frames.rows.map((row) => [row.frames, row.durationMs]), [[1, null], [1, null]]);
        } finally {
          await db.close();
        }
      } finally {
        fs.rmSync(before, { recursive: true, force: true });
        await database.drop();
      }
    });

    test('an edited migration is refused', async () => {
      const database = await freshDatabase(kind);
      const edited = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-migrations-'));
      try {
        await (await openDatabase(database.config, MIGRATIONS_DIR)).close();
        fs.cpSync(MIGRATIONS_DIR, edited, { recursive: true });
        const first = readMigrations(edited)[0].name;
        fs.appendFileSync(path.join(edited, first, 'migration.sql'), '\n-- edited\n');
        await assert.rejects(openDatabase(database.config, edited), /was edited after it was applied/);
      } finally {
        fs.rmSync(edited, { recursive: true, force: true });
        await database.drop();
      }
    });
  });
}

test('several processes starting at once on a server migrate once', async () => {
  const database = await freshDatabase('postgres');
  try {
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase(database.config, MIGRATIONS_DIR)));
    const { rows } = await dbs[0].sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"');
    assert.equal(rows[0].n, readMigrations(MIGRATIONS_DIR).length);
    await Promise.all(dbs.map((db) => db.close()));
  } finally {
    await database.drop();
  }
});
