import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../observability/logger.js';
import type { RunQueue } from '../queue/run-queue.js';
import { UNFINISHED_STATUSES } from '../runs/types.js';
import { Prisma, type PrismaClient } from '../storage/generated/client.js';

interface HandedBackRun {
  id: string;
  jobId: string;
}

/** The abort reason of runs whose lease this worker found it no longer holds (another worker took them over). */
const LEASE_LOST = new Error('the run\'s lease was lost to another worker');

/**
 * Which worker process optimises which run: a lease on the run's row
 * (`workerId`, `leaseExpiresAt`), timed by the database's clock, which all
 * machines share. A worker claims a run before it works on it and renews the
 * leases of all its runs every third of `leaseSeconds` (its heartbeat). A
 * lease left unrenewed for `leaseSeconds` has expired: its worker is taken for
 * dead (killed, its machine lost or cut off), and any worker hands the run back
 * to the queue, from which the next free worker resumes it at its checkpoint.
 * A worker that was only late finds its lease gone at its next write, which
 * the lease guards (RunLifecycle's `owner`), and stops.
 *
 * Like BullMQ's LockManager, it also keeps the heartbeat itself: the timer,
 * and what a beat does with the runs it renewed and the ones it found expired.
 */
export class RunLeases {
  /** Unique to this process; host and pid tell a person reading the runs table where it runs. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  constructor(private readonly prisma: PrismaClient, private readonly leaseSeconds: number) {}

  /**
   * Takes the run for this worker unless another worker holds a live lease on
   * it, or the run was handed to a newer job than `jobId`, or it is finished.
   * Claiming again what this worker holds succeeds (a retried claim whose answer was lost).
   */
  async claim(runId: string, jobId: string): Promise<boolean> {
    const claimed = await this.prisma.$executeRaw`
      UPDATE runs SET "workerId" = ${this.workerId}, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE id = ${runId}::uuid AND "jobId" = ${jobId}::uuid AND status IN (${Prisma.join(UNFINISHED_STATUSES)})
        AND ("workerId" IS NULL OR "workerId" = ${this.workerId} OR "leaseExpiresAt" IS NULL OR "leaseExpiresAt" < now())`;
    return claimed === 1;
  }

  /**
   * Gives a run up (this worker is shutting down; its job goes back to the
   * queue). The run keeps a lease of no worker, which any worker may claim, so
   * that it is handed back by `expired` only if its job is not retried in time.
   */
  async release(runId: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE runs SET "workerId" = NULL, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE id = ${runId}::uuid AND "workerId" = ${this.workerId}`;
  }

  /**
   * Takes the runs whose lease expired away from their workers and sees that
   * each has a job waiting for the next free worker. `everyRun`: as for `expired`.
   */
  async handBackExpired(queue: RunQueue, everyRun: boolean): Promise<void> {
    for (const run of await this.expired(everyRun)) {
      const state = await queue.jobState(run.jobId);
      // Its worker died holding it: back in the queue, in its place.
      if (state === 'active') await queue.retry([run.jobId]);
      // Finished or gone (a worker that lost the run completed it; archived): a new job, which the run is moved to.
      else if (state !== 'created' && state !== 'retry') {
        const jobId = randomUUID();
        const { count } = await this.prisma.run.updateMany({ where: { id: run.id, jobId: run.jobId }, data: { jobId } });
        if (count === 1) await queue.enqueue(jobId, run.id);
      }
    }
  }

  /**
   * Beats every third of `leaseSeconds` until `stopHeartbeat`: renews this
   * worker's leases, aborts those of its `running` runs it no longer holds,
   * and hands back the runs of dead workers (handBackExpired). A beat still
   * going when the next is due is not doubled.
   */
  startHeartbeat(queue: RunQueue, running: ReadonlyMap<string, AbortController>, logger: Logger): void {
    this.heartbeat = setInterval(() => {
      this.beating ??= this.beat(queue, running, logger).finally(() => { this.beating = undefined; });
    }, (this.leaseSeconds * 1000) / 3);
  }

  /** Stops the heartbeat, once a beat in progress has ended. */
  async stopHeartbeat(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.beating;
  }

  private async beat(queue: RunQueue, running: ReadonlyMap<string, AbortController>, logger: Logger): Promise<void> {
    try {
      // Only runs claimed before the renewal started can be missing from what it returns.
      const claimed = [...running];
      const held = await this.renew();
      for (const [runId, controller] of claimed) if (!held.has(runId)) controller.abort(LEASE_LOST);
      await this.handBackExpired(queue, false);
    } catch (err) {
      logger.error({ err }, 'renewing the worker\'s leases failed');
    }
  }

  /** Renews this worker's leases and returns the runs it still holds. */
  private async renew(): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE runs SET "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE "workerId" = ${this.workerId} AND status IN (${Prisma.join(UNFINISHED_STATUSES)})
      RETURNING id::text`;
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Takes the unfinished runs whose lease has expired away from their worker
   * and returns them, for handBackExpired to see that their jobs are queued. Of
   * several workers doing this at once, each run goes to one: it gets a lease
   * of no worker, so it is not handed back again before its job has had
   * `leaseSeconds` to be taken. `everyRun`: all unfinished runs that a worker
   * held, for a database that only this process can open (its previous
   * process is surely gone). RUNNING runs without a lease are from before leases.
   */
  private async expired(everyRun: boolean): Promise<HandedBackRun[]> {
    return this.prisma.$queryRaw<HandedBackRun[]>`
      UPDATE runs SET "workerId" = NULL, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE status IN (${Prisma.join(UNFINISHED_STATUSES)})
        AND ("leaseExpiresAt" < now() OR (status = 'RUNNING' AND "leaseExpiresAt" IS NULL)
             OR (${everyRun}::boolean AND ("workerId" IS NOT NULL OR status = 'RUNNING')))
      RETURNING id::text, "jobId"::text AS "jobId"`;
  }
}
