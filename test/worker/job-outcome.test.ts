/**
 * pg-boss writes a job's outcome when its handler settles without awaiting
 * the write: that write failing must not become an unhandled rejection,
 * which would end the worker's process.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { RunQueue } from '../../src/queue/run-queue.js';
import { openDatabase, type Database } from '../../src/storage/database.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';

// A trigger makes the database refuse to mark a job completed: what a connection lost at that moment does, every time.
const REFUSE_COMPLETION = `
  CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'completion refused'; END $$;
  CREATE TRIGGER refuse_completion BEFORE UPDATE ON pgboss.job FOR EACH ROW WHEN (NEW.state = 'completed') EXECUTE FUNCTION refuse_completion()`;

describe('a job whose outcome cannot be written', () => {
  let database: TestDatabase;
  let db: Database;
  let queue: RunQueue;
  const lines: string[] = [];
  before(async () => {
    database = await freshDatabase('postgres');
    db = await openDatabase(database.config, MIGRATIONS_DIR);
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    queue = await RunQueue.start(db, { pollingSeconds: 0.5, logger: createLogger({ level: 'warn', format: 'json', destination }) });
  });
  after(async () => {
    await queue?.stop();
    await db?.close();
    await database?.drop();
  });

  test('is logged and left active to be retried, and the process hears no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const hear = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', hear);
    try {
      await db.sql.query(REFUSE_COMPLETION);
      let handled!: () => void;
      const ran = new Promise<void>((resolve) => (handled = resolve));
      await queue.work(1, async () => handled());
      const jobId = '3f1e4c2a-8b7d-4e6f-9a0b-1c2d3e4f5a6b';
      await queue.enqueue(jobId, '00000000-0000-4000-8000-000000000001');
      await ran;
      const deadline = Date.now() + 10_000;
      while (!lines.some((line) => line.includes('outcome')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      const warning = JSON.parse(lines.find((line) => line.includes('outcome'))!);
      assert.equal(warning.level, 'warn');
      assert.match(warning.err.message, /completion refused/);
      assert.equal(await queue.jobState(jobId), 'active');
    } finally {
      process.off('unhandledRejection', hear);
      await queue.stopWorking();
    }
  });
});
