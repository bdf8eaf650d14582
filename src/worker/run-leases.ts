import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { UNFINISHED_STATUSES } from '../runs/types.js';
import { Prisma, type PrismaClient } from '../storage/generated/client.js';

export interface HandedBackRun {
  id: string;
  jobId: string;
}

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
 */
export class RunLeases {
  /** Unique to this process; host and pid tell a person reading the runs table where it runs. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(private readonly prisma: PrismaClient, readonly leaseSeconds: number) {}

  get heartbeatMs(): number {
    return (this.leaseSeconds * 1000) / 3;
  }

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

  /** The heartbeat: renews this worker's leases and returns the runs it still holds. */
  async renew(): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE runs SET "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE "workerId" = ${this.workerId} AND status IN (${Prisma.join(UNFINISHED_STATUSES)})
      RETURNING id::text`;
    return new Set(rows.map((row) => row.id));
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
   * Takes the unfinished runs whose lease has expired away from their worker
   * and returns them, for the caller to see that their jobs are queued. Of
   * several workers doing this at once, each run goes to one: it gets a lease
   * of no worker, so it is not handed back again before its job has had
   * `leaseSeconds` to be taken. `everyRun`: all unfinished runs that a worker
   * held, for a database that only this process can open (its previous
   * process is surely gone). RUNNING runs without a lease are from before leases.
   */
  async expired(everyRun: boolean): Promise<HandedBackRun[]> {
    return this.prisma.$queryRaw<HandedBackRun[]>`
      UPDATE runs SET "workerId" = NULL, "leaseExpiresAt" = now() + make_interval(secs => ${this.leaseSeconds}::float8)
      WHERE status IN (${Prisma.join(UNFINISHED_STATUSES)})
        AND ("leaseExpiresAt" < now() OR (status = 'RUNNING' AND "leaseExpiresAt" IS NULL)
             OR (${everyRun}::boolean AND ("workerId" IS NOT NULL OR status = 'RUNNING')))
      RETURNING id::text, "jobId"::text AS "jobId"`;
  }
}
