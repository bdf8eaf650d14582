import { ConfigError, positiveInteger } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { RunService } from '../runs/run-service.js';
import { ADVISORY_LOCKS } from '../storage/advisory-locks.js';
import type { Database } from '../storage/database.js';
import { FINAL_STATUSES } from '../runs/types.js';
import { Prisma, type PrismaClient } from '../storage/generated/client.js';
import { deleteUnusedImages, UNUSED_IMAGE } from '../storage/images.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows handled per query, so that a first sweep over a large history does not hold one huge transaction. */
const BATCH = 100;

/** Ages in days (fractions allowed); undefined turns that part off. All off by default. */
export interface RetentionConfig {
  /** Finished runs (their epochs, checkpoint and the images only they used) are deleted this long after they finished. */
  runDays?: number;
  /** The epoch previews of runs finished this long ago are dropped; the epochs' numbers and the final image stay. */
  previewDays?: number;
  /** Images no run uses (uploads never used, or left by a deleted run) are deleted this long after they were stored. */
  unusedImageDays?: number;
  /** How often the sweep runs. */
  intervalSeconds: number;
}

export const RETENTION_OFF: RetentionConfig = { intervalSeconds: 3600 };

export function retentionEnabled(config: RetentionConfig): boolean {
  return config.runDays !== undefined || config.previewDays !== undefined || config.unusedImageDays !== undefined;
}

export interface SweepResult {
  runs: number;
  /** Epochs whose preview was dropped. */
  previews: number;
  /** Images deleted (those of deleted runs' that no other run used are counted under runs' deletion). */
  images: number;
}

function cutoff(now: Date, days: number | undefined): Date | undefined {
  return days === undefined ? undefined : new Date(now.getTime() - days * DAY_MS);
}

/**
 * Removes what is older than the configured ages. Safe to run from several
 * processes at once: each step re-checks its conditions in the statement that
 * deletes, and deleting what another sweep already deleted is a no-op.
 * Only runs in a final status are ever touched: never a QUEUED or RUNNING one.
 */
export class RetentionService {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly runs: RunService,
    private readonly config: RetentionConfig,
    private readonly telemetry?: Telemetry,
    /** For the lock that lets one process at a time sweep (the others skip that round). */
    private readonly db?: Pick<Database, 'withSession'>,
  ) {}

  /** A sweep, unless another process is sweeping the same database now. */
  private async sweepOnce(now: Date): Promise<void> {
    if (!this.db) {
      await this.sweep(now);
      return;
    }
    await this.db.withSession(async (session) => {
      const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ADVISORY_LOCKS.retention]);
      if (!rows[0]?.locked) return;
      try {
        await this.sweep(now);
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.retention]);
      }
    });
  }

  private get logger(): Logger | undefined {
    return this.telemetry?.logger;
  }

  /** Sweeps now (in the background) and then every `intervalSeconds`; nothing when every part is off. */
  start(): void {
    if (!retentionEnabled(this.config) || this.timer) return;
    const tick = () => {
      this.sweeping ??= this.sweepOnce(new Date())
        .then(() => undefined, (err: unknown) => this.logger?.error({ err }, 'retention sweep failed; retrying at the next interval'))
        .finally(() => { this.sweeping = undefined; });
    };
    this.timer = setInterval(tick, this.config.intervalSeconds * 1000);
    this.timer.unref();
    tick();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  async sweep(now: Date): Promise<SweepResult> {
    const result: SweepResult = { runs: 0, previews: 0, images: 0 };
    const runsBefore = cutoff(now, this.config.runDays);
    const previewsBefore = cutoff(now, this.config.previewDays);
    const imagesBefore = cutoff(now, this.config.unusedImageDays);
    if (runsBefore) result.runs = await this.deleteRuns(runsBefore);
    if (previewsBefore) result.previews = await this.dropPreviews(previewsBefore);
    if (imagesBefore) result.images = await this.deleteUnusedImages(imagesBefore);
    const metrics = this.telemetry?.metrics;
    metrics?.retentionRemoved.inc({ kind: 'runs' }, result.runs);
    metrics?.retentionRemoved.inc({ kind: 'previews' }, result.previews);
    metrics?.retentionRemoved.inc({ kind: 'images' }, result.images);
    if (result.runs || result.previews || result.images) this.logger?.info({ ...result }, 'retention sweep removed old data');
    else this.logger?.debug({ ...result }, 'retention sweep found nothing to remove');
    return result;
  }

  /** Finished runs that finished before `before`, deleted as a user's deleteRun does (with the images only they used). */
  private async deleteRuns(before: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = await this.prisma.run.findMany({
        where: { status: { in: [...FINAL_STATUSES] }, finishedAt: { lt: before } },
        orderBy: [{ finishedAt: 'asc' }, { id: 'asc' }],
        select: { id: true },
        take: BATCH,
      });
      for (const { id } of batch) {
        if (await this.runs.deleteRun(id)) {
          deleted++;
          this.logger?.info({ runId: id }, 'retention deleted run');
        }
      }
      if (batch.length < BATCH) return deleted;
    }
  }

  /**
   * Drops the epoch previews of runs finished before `before`: the epoch rows
   * keep their numbers with a null preview, the final image stays (it is the
   * run's result; the last epoch keeps it as its preview, since it costs no
   * extra bytes), and the preview images no one else uses are deleted.
   */
  private async dropPreviews(before: Date): Promise<number> {
    let dropped = 0;
    for (;;) {
      const count = await this.prisma.$transaction(async (tx) => {
        // One statement picks, locks and clears a batch, so a concurrent sweep cannot clear the same rows twice.
        const rows = await tx.$queryRaw<{ sha256: string }[]>`
          WITH picked AS (
            SELECT e."runId", e.epoch, e."previewSha256"
            FROM run_epochs e JOIN runs r ON r.id = e."runId"
            WHERE r.status IN (${Prisma.join(FINAL_STATUSES)}) AND r."finishedAt" < ${before}
              AND e."previewSha256" IS NOT NULL AND e."previewSha256" IS DISTINCT FROM r."resultSha256"
            ORDER BY e."runId", e.epoch
            LIMIT ${BATCH * 10}
            FOR UPDATE OF e SKIP LOCKED
          ), cleared AS (
            UPDATE run_epochs e SET "previewSha256" = NULL
            FROM picked p WHERE e."runId" = p."runId" AND e.epoch = p.epoch
            RETURNING p."previewSha256"
          )
          SELECT "previewSha256" AS sha256 FROM cleared`;
        await deleteUnusedImages(tx, [...new Set(rows.map((row) => row.sha256))]);
        return rows.length;
      });
      dropped += count;
      if (count < BATCH * 10) return dropped;
    }
  }

  /** Images stored before `before` that are unused (UNUSED_IMAGE). */
  private async deleteUnusedImages(before: Date): Promise<number> {
    let deleted = 0;
    let after: string | undefined;
    for (;;) {
      const candidates = await this.prisma.image.findMany({
        where: { createdAt: { lt: before }, ...UNUSED_IMAGE, ...(after ? { sha256: { gt: after } } : {}) },
        orderBy: { sha256: 'asc' },
        select: { sha256: true },
        take: BATCH,
      });
      if (candidates.length === 0) return deleted;
      after = candidates.at(-1)!.sha256;
      // The same conditions again in the delete: a run may have started using one meanwhile.
      deleted += await this.prisma.$transaction((tx) => deleteUnusedImages(tx, candidates.map((c) => c.sha256)));
    }
  }
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'off') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(name, `expected a positive number of days (or "off"), got "${raw}"`);
  return value;
}

/**
 * STYLEGRAPH_RETENTION_RUN_DAYS, STYLEGRAPH_RETENTION_PREVIEW_DAYS,
 * STYLEGRAPH_RETENTION_IMAGE_DAYS (unset: off), STYLEGRAPH_RETENTION_INTERVAL_MINUTES (default 60).
 */
export function loadRetentionConfig(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  return {
    runDays: positiveNumber(env, 'STYLEGRAPH_RETENTION_RUN_DAYS'),
    previewDays: positiveNumber(env, 'STYLEGRAPH_RETENTION_PREVIEW_DAYS'),
    unusedImageDays: positiveNumber(env, 'STYLEGRAPH_RETENTION_IMAGE_DAYS'),
    intervalSeconds: positiveInteger(env, 'STYLEGRAPH_RETENTION_INTERVAL_MINUTES', 60) * 60,
  };
}
