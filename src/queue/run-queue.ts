import type { Logger } from '../observability/logger.js';
import PgBoss from 'pg-boss';
import { ADVISORY_LOCKS } from '../storage/advisory-locks.js';
import type { Database } from '../storage/database.js';
import type { SqlSession } from '../storage/sql-session.js';

/**
 * The queue of runs waiting for a worker, on pg-boss. Its jobs carry only a
 * run id; the run's row stays the truth about its state. Each job's id is
 * chosen by the run service and stored with the run, so sending a job twice
 * is harmless (pg-boss inserts with ON CONFLICT DO NOTHING).
 */

const QUEUE = 'stylegraph-runs';
const SCHEMA = 'pgboss';

/** pg-boss's longest allowed job (under 24 h); a handler running longer is failed and retried. */
const MAX_RUN_HOURS = 23;
/**
 * A job fails only when its process died or shut down mid-run (a run that
 * throws is FAILED and its job completes). Each such restart resumes from a
 * checkpoint, so allow many.
 */
const RESTART_LIMIT = 100;

export type JobState = PgBoss.JobWithMetadata['state'];

export interface RunJob {
  runId: string;
}

export interface RunQueueOptions {
  pollingSeconds: number;
  logger: Logger;
}

export type RunJobHandler = (job: { jobId: string; runId: string }) => Promise<void>;

type SqlExecutor = PgBoss.Db['executeSql'];

/** pg-boss's own SQL (its internal plans: the version is pinned in package.json), to know its statements by. */
const BOSS_PLANS = require('pg-boss/src/plans') as { completeJobs(schema: string): string; failJobsById(schema: string): string };
/** What pg-boss writes when a handler settles: the job's outcome. */
const OUTCOME_WRITES = new Set([BOSS_PLANS.completeJobs(SCHEMA), BOSS_PLANS.failJobsById(SCHEMA)]);

/**
 * The database as pg-boss is given it. pg-boss 10 writes a job's outcome
 * when its handler settles without awaiting the write (Manager.watch), so
 * that write failing (a connection lost at that moment) would be an
 * unhandled rejection, which ends a Node process. It is logged here instead;
 * the job, left active, expires and is retried, and the handler then finds
 * its run finished. Outcomes the queue writes itself use `direct`.
 */
function bossExecutor(direct: SqlExecutor, logger: Logger): SqlExecutor {
  return async (text, values) => {
    try {
      return await direct(text, values);
    } catch (err) {
      if (!OUTCOME_WRITES.has(text)) throw err;
      logger.warn({ err }, 'writing a job\'s outcome failed; the job will be retried once it expires');
      // As both statements answer when they change no job: none was.
      return { rows: [{ count: 0 }] };
    }
  };
}

export class RunQueue {
  private readonly workerIds: string[] = [];

  private constructor(private readonly boss: PgBoss, private readonly db: Database, private readonly direct: PgBoss.Db) {}

  /** Installs or upgrades pg-boss's tables (schema `pgboss`) in the shared database, then starts it. */
  static async start(db: Database, options: RunQueueOptions): Promise<RunQueue> {
    // PGlite has a single connection and the server pool is Prisma's: pg-boss uses the same one.
    const direct: PgBoss.Db = { executeSql: async (text, values) => db.sql.query(text, values) };
    const boss = new PgBoss({
      db: { executeSql: bossExecutor(direct.executeSql, options.logger) },
      schema: SCHEMA,
      schedule: false, // no cron jobs: saves a timer and its queries
      pollingIntervalSeconds: options.pollingSeconds,
    });
    boss.on('error', (err) => options.logger.error({ err }, 'job queue error'));
    // Processes starting at once on a new database race to create pg-boss's schema and the queue, which
    // pg-boss 10 does not survive (a unique violation on the schema's name, a deadlock in create_queue): one at a time.
    await db.withSession(async (session) => {
      await session.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.queueInstall]);
      try {
        await boss.start();
        // Creating the queue (and its partition table) at once deadlocks in pg-boss too: under the same lock.
        await boss.createQueue(QUEUE, {
          name: QUEUE,
          expireInHours: MAX_RUN_HOURS,
          retryLimit: RESTART_LIMIT,
          retryDelay: 0,
        });
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.queueInstall]);
      }
    });
    return new RunQueue(boss, db, direct);
  }

  /**
   * Queues a run (again); a job with this id that exists already is left as
   * it is. `within`: inside that transaction, so the job exists exactly when
   * what the transaction writes beside it does; call `wakeWorkers` once it commits.
   */
  async enqueue(jobId: string, runId: string, within?: SqlSession): Promise<void> {
    await this.boss.send(QUEUE, { runId } satisfies RunJob, { id: jobId, ...(within ? { db: { executeSql: (text: string, values: unknown[]) => within.query(text, values) } } : {}) });
    if (!within) this.wakeWorkers();
  }

  /** Local workers wait between polls; a new job or a freed slot need not wait. */
  wakeWorkers(): void {
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  /** Drops a queued job (a cancelled run); no-op once it is taken or finished. */
  async cancel(jobId: string): Promise<void> {
    await this.boss.cancel(QUEUE, jobId);
  }

  /** Where a job stands: waiting (`created`, `retry`), taken (`active`), finished, or null when there is no such job (any more). */
  async jobState(jobId: string): Promise<JobState | null> {
    return (await this.boss.getJobById(QUEUE, jobId))?.state ?? null;
  }

  /**
   * Puts jobs whose worker is gone (killed, crashed, shut down mid-run) back
   * in the queue, keeping their place: jobs are taken oldest first.
   */
  async retry(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.boss.fail(QUEUE, jobIds, { db: this.direct });
  }

  /**
   * Takes jobs oldest first, `concurrency` at a time. A handler that returns
   * completes its job; one that throws leaves the job to be retried.
   */
  async work(concurrency: number, handler: RunJobHandler): Promise<void> {
    for (let slot = 0; slot < concurrency; slot++) {
      const id = await this.boss.work<RunJob>(QUEUE, { batchSize: 1 }, async ([job]) => {
        try {
          await handler({ jobId: job.id, runId: job.data.runId });
        } finally {
          // pg-boss waits out its polling interval after a short job: a slot is free, look for the next job now.
          this.wakeWorkers();
        }
      });
      this.workerIds.push(id);
    }
  }

  /** Stops taking jobs; handlers already running carry on. */
  async stopWorking(): Promise<void> {
    this.workerIds.length = 0;
    await this.boss.offWork(QUEUE);
  }

  /** Stops pg-boss; callers settle their running jobs first. */
  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: false, wait: true });
    // pg-boss completes or fails a job without awaiting the write. On PGlite
    // queries run in order, and the pool's end waits for queries in flight, so
    // one more query lets those writes land before the database is closed.
    await this.db.sql.query('SELECT 1');
  }
}
