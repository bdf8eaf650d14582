import type { RunQueue } from '../queue/run-queue.js';
import type { RunEventBus } from '../runs/events.js';
import { ACTIVE_STATUSES, isTerminal, type RunLifecycle } from '../runs/lifecycle.js';
import { RUN_INCLUDE, toRunRecord } from '../runs/records.js';
import type { RunRecord } from '../runs/types.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { deleteUnusedImages, readImageBytes, storeImage } from '../storage/images.js';
import { EngineAborted, EngineClient } from './engine-client.js';

/** The abort reason of runs stopped because this worker is shutting down (not cancelled). */
const SHUTDOWN = new Error('the worker is shutting down');
/** The abort reason of runs that stopped being RUNNING under the worker (cancelled, deleted). */
const NOT_RUNNING = new Error('the run is no longer running');

/** Thrown to the queue so that the job of a run interrupted by a shutdown is retried, from its checkpoint. */
export class RunSuspended extends Error {
  constructor(runId: string) {
    super(`run ${runId} was suspended by a shutdown; it resumes from its last checkpoint`);
    this.name = 'RunSuspended';
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Takes runs from the queue and optimises them in engine threads. After each
 * epoch it stores the epoch row with its preview image, then the checkpoint,
 * then publishes the event (RunLifecycle.recordEpoch); the final image is
 * stored before the run becomes SUCCEEDED. A run found RUNNING when its job
 * is taken again (after a crash or shutdown) resumes from its checkpoint.
 */
export class OptimisationWorker {
  private readonly idleEngines: EngineClient[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly handlers = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
    private readonly events: RunEventBus,
    private readonly concurrency: number,
  ) {}

  async start(): Promise<void> {
    await this.recover();
    await this.queue.work(this.concurrency, (job) => this.track(this.handle(job.runId)));
  }

  /** Stops taking runs, suspends the running ones (their last checkpoint stays; their jobs are retried later). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.queue.stopWorking();
    for (const controller of this.running.values()) controller.abort(SHUTDOWN);
    await Promise.allSettled(this.handlers);
    await Promise.all(this.idleEngines.splice(0).map((engine) => engine.terminate()));
  }

  /**
   * Mends what a process killed mid-way left behind: jobs of RUNNING runs
   * stay "active" in the queue and are put back; a run stored just before a
   * crash may have no job yet and is queued (sending an existing job is a
   * no-op). Safe while this is the only worker of the database, as with the
   * embedded database, whose lock file allows one process.
   */
  private async recover(): Promise<void> {
    const runs = await this.prisma.run.findMany({
      where: { status: { in: [...ACTIVE_STATUSES] } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, jobId: true, status: true },
    });
    await this.queue.retry(runs.filter((run) => run.status === 'RUNNING').map((run) => run.jobId));
    for (const run of runs.filter((r) => r.status === 'QUEUED')) await this.queue.enqueue(run.jobId, run.id);
  }

  private track(handler: Promise<void>): Promise<void> {
    this.handlers.add(handler);
    return handler.finally(() => this.handlers.delete(handler));
  }

  private async handle(runId: string): Promise<void> {
    const row = await this.prisma.run.findUnique({ where: { id: runId }, include: RUN_INCLUDE });
    // Cancelled or deleted while queued: nothing to do.
    if (!row || isTerminal(row.status)) return;
    if (this.stopping) throw new RunSuspended(runId);

    const controller = new AbortController();
    this.running.set(runId, controller);
    // Subscribed before the run starts, so a cancel cannot slip in between.
    const unsubscribe = this.events.subscribe(runId, (event) => {
      if (event.type === 'status' && isTerminal(event.status)) controller.abort(NOT_RUNNING);
    });
    let engine: EngineClient | undefined;
    try {
      try {
        engine = await this.acquireEngine();
      } catch (err) {
        if (row.status === 'QUEUED') await this.lifecycle.start(runId, null);
        await this.lifecycle.fail(runId, reasonOf(err));
        return;
      }
      if (row.status === 'QUEUED' && !(await this.lifecycle.start(runId, engine))) return;
      await this.optimise(toRunRecord(row), engine, controller);
    } finally {
      unsubscribe();
      this.running.delete(runId);
      if (engine) this.releaseEngine(engine);
    }
  }

  private async optimise(run: RunRecord, engine: EngineClient, controller: AbortController): Promise<void> {
    const stored = await this.lifecycle.latestCheckpoint(run.id);
    // Images used by a run cannot be deleted while it exists (foreign keys), so these are found.
    const [content, ...styles] = await Promise.all(
      [run.contentImage, ...run.styleImages].map(async (sha256) => (await readImageBytes(this.prisma, sha256))!),
    );
    const elapsedBefore = stored?.elapsedMs ?? 0;
    try {
      await engine.run({ content, styles, params: run.params, resume: stored?.checkpoint }, async (epoch) => {
        const preview = await storeImage(this.prisma, epoch.png, { mimeType: 'image/png', width: epoch.width, height: epoch.height });
        const recorded = await this.lifecycle.recordEpoch(run.id, {
          ...epoch,
          elapsedMs: elapsedBefore + epoch.elapsedMs,
          previewSha256: preview.sha256,
        }, epoch.checkpoint);
        if (!recorded) {
          controller.abort(NOT_RUNNING);
          await deleteUnusedImages(this.prisma, [preview.sha256]);
        }
      }, controller.signal);
    } catch (err) {
      if (!(err instanceof EngineAborted)) {
        await this.lifecycle.fail(run.id, reasonOf(err));
        return;
      }
      if (err.reason === SHUTDOWN) throw new RunSuspended(run.id);
      return; // cancelled or deleted: its status says so already
    }
    // The final image is the last epoch's image, already stored with that epoch
    // (also when the run resumed from a checkpoint taken at its very end).
    const last = await this.prisma.runEpoch.findUnique({
      where: { runId_epoch: { runId: run.id, epoch: run.params.epochs } },
      select: { previewSha256: true },
    });
    if (last) await this.lifecycle.succeed(run.id, last.previewSha256);
    else await this.lifecycle.fail(run.id, `the engine stopped before epoch ${run.params.epochs}`);
  }

  private async acquireEngine(): Promise<EngineClient> {
    // An idle thread may have died (out of memory, say); start a new one then.
    const engine = this.idleEngines.pop();
    return engine?.usable ? engine : EngineClient.start();
  }

  private releaseEngine(engine: EngineClient): void {
    if (engine.usable && !this.stopping) this.idleEngines.push(engine);
    else void engine.terminate();
  }
}
