import { randomUUID } from 'node:crypto';
import type { RunQueue } from '../queue/run-queue.js';
import type { RunEventBus } from '../runs/events.js';
import type { RunLifecycle } from '../runs/lifecycle.js';
import { RUN_INCLUDE, toRunRecord } from '../runs/records.js';
import { isTerminal, type RunRecord } from '../runs/types.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { readImageBytes } from '../storage/images.js';
import { retryTransient } from '../storage/db-errors.js';
import { EngineAborted, EngineClient } from './engine-client.js';
import type { HandedBackRun, RunLeases } from './run-leases.js';
import { estimateRunTime } from '../engine/index.js';
import type { EngineProfiles } from '../runs/engine-profiles.js';

/** The abort reason of runs stopped because this worker is shutting down (not cancelled). */
const SHUTDOWN = new Error('the worker is shutting down');
/** The abort reason of runs that stopped being RUNNING under the worker (cancelled, deleted), or stopped being its own. */
const NOT_RUNNING = new Error('the run is no longer running here');

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
 * epoch it stores the epoch row with its preview image and the checkpoint,
 * then publishes the event (RunLifecycle.recordEpoch); the final image is
 * stored before the run becomes SUCCEEDED. A run found RUNNING when its job
 * is taken again (after a crash or shutdown) resumes from its checkpoint.
 * Its reads and writes ride out a lost database connection (retryTransient):
 * only an outage fails a run.
 *
 * Several workers may share a database: each holds its runs by a lease
 * (RunLeases), renewed by a heartbeat that also hands back to the queue the
 * runs of workers whose leases expired. Jobs only say "look at this run"; the
 * run's row says who owns it, so a job handed out twice, or a job of a run
 * another worker took over, finds the run claimed and does nothing.
 */
export class OptimisationWorker {
  private readonly idleEngines: EngineClient[] = [];
  /** Runs waiting for an engine thread, in the order they asked: a thread that becomes free goes to the first. */
  private readonly engineWaiters: { resolve: (engine: EngineClient) => void; reject: (err: unknown) => void }[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly handlers = new Set<Promise<void>>();
  private stopping = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private warmingUp: Promise<void> | undefined;

  /** `exclusive`: no other process can open the database (the embedded one), so runs held at start-up are orphans. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
    private readonly events: RunEventBus,
    private readonly leases: RunLeases,
    private readonly profiles: EngineProfiles,
    private readonly options: { concurrency: number; exclusive: boolean; engineThreads: number; warmUpEngine?: boolean },
  ) {}

  async start(): Promise<void> {
    // Asked to (stylegraph serve), one engine thread starts now (backend chosen, VGG19 loaded), not with the first run:
    // readiness and serviceInfo can then say what this worker computes on, and the first run starts sooner.
    // A failure is kept by the telemetry (readiness reports it); a run would try again.
    if (this.options.warmUpEngine) this.warmingUp = this.startEngine().then((engine) => this.releaseEngine(engine), () => undefined);
    await this.recover();
    await this.queue.work(this.options.concurrency, (job) => this.track(this.handle(job.jobId, job.runId)));
    this.heartbeat = setInterval(() => {
      this.beating ??= this.beat().finally(() => { this.beating = undefined; });
    }, this.leases.heartbeatMs);
  }

  /** Stops taking runs, suspends the running ones (each stores the state it stopped at; their jobs are retried later). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.queue.stopWorking();
    for (const controller of this.running.values()) controller.abort(SHUTDOWN);
    await Promise.allSettled(this.handlers);
    // Leases are renewed until the suspended runs have been released.
    clearInterval(this.heartbeat);
    await this.beating;
    await this.warmingUp; // a thread still starting is ended as soon as it is ready (releaseEngine, while stopping)
    await Promise.all(this.idleEngines.splice(0).map((engine) => engine.terminate()));
  }

  /**
   * Mends what processes killed mid-way left behind: runs held by a dead
   * worker (on the embedded database: every run held, its one process is
   * gone) go back to the queue; a run stored just before a crash may have no
   * job yet and is queued (sending an existing job is a no-op, so several
   * workers starting at once do no harm).
   */
  private async recover(): Promise<void> {
    await this.handBack(await this.leases.expired(this.options.exclusive));
    const queued = await this.prisma.run.findMany({
      where: { status: 'QUEUED' },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, jobId: true },
    });
    for (const run of queued) await this.queue.enqueue(run.jobId, run.id);
  }

  /** Renews this worker's leases, stops the runs it lost, and hands back the runs of dead workers. */
  private async beat(): Promise<void> {
    try {
      // Only runs claimed before the renewal started can be missing from what it returns.
      const claimed = [...this.running];
      const held = await this.leases.renew();
      for (const [runId, controller] of claimed) if (!held.has(runId)) controller.abort(NOT_RUNNING);
      await this.handBack(await this.leases.expired(false));
    } catch (err) {
      this.lifecycle.telemetry.logger.error({ err }, 'renewing the worker\'s leases failed');
    }
  }

  /** Sees that each run taken from a dead worker has a job waiting for the next free worker. */
  private async handBack(runs: HandedBackRun[]): Promise<void> {
    for (const run of runs) {
      const state = await this.queue.jobState(run.jobId);
      // Its worker died holding it: back in the queue, in its place.
      if (state === 'active') await this.queue.retry([run.jobId]);
      // Finished or gone (a worker that lost the run completed it; archived): a new job, which the run is moved to.
      else if (state !== 'created' && state !== 'retry') {
        const jobId = randomUUID();
        const { count } = await this.prisma.run.updateMany({ where: { id: run.id, jobId: run.jobId }, data: { jobId } });
        if (count === 1) await this.queue.enqueue(jobId, run.id);
      }
    }
  }

  private track(handler: Promise<void>): Promise<void> {
    this.handlers.add(handler);
    return handler.finally(() => this.handlers.delete(handler));
  }

  private async handle(jobId: string, runId: string): Promise<void> {
    const row = await retryTransient(() => this.prisma.run.findUnique({ where: { id: runId }, include: RUN_INCLUDE }));
    // Cancelled or deleted while queued, or moved to a newer job: nothing to do.
    if (!row || isTerminal(row.status) || row.jobId !== jobId) return;
    if (this.stopping) throw new RunSuspended(runId);
    // A live worker holds it (this job was handed out again meanwhile): that worker finishes the run.
    if (this.running.has(runId) || !(await retryTransient(() => this.leases.claim(runId, jobId)))) return;
    const owner = this.leases.workerId;

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
        if (row.status === 'QUEUED') await this.lifecycle.start(runId, null, owner);
        await this.lifecycle.fail(runId, reasonOf(err), owner);
        return;
      }
      if (row.status === 'QUEUED' && !(await this.lifecycle.start(runId, engine, owner))) return;
      await this.optimise(toRunRecord(row), engine, controller);
    } catch (err) {
      // Its job goes back to the queue: let the next worker claim the run at once.
      if (err instanceof RunSuspended) await this.leases.release(runId);
      throw err;
    } finally {
      unsubscribe();
      this.running.delete(runId);
      if (engine) this.releaseEngine(engine);
    }
  }

  private async optimise(run: RunRecord, engine: EngineClient, controller: AbortController): Promise<void> {
    const owner = this.leases.workerId;
    // Read after the claim: a worker that held the run before can no longer add to it.
    const stored = await this.lifecycle.latestCheckpoint(run.id);
    // Images used by a run cannot be deleted while it exists (foreign keys), so these are found.
    const [content, ...styles] = await retryTransient(() => Promise.all(
      [run.contentImage, ...run.styleImages].map(async (sha256) => (await readImageBytes(this.prisma, sha256))!),
    ));
    const elapsedBefore = stored?.elapsedMs ?? 0;
    // A FAST run keeps no checkpoint: taken again once its one epoch is stored, only its status is left to set.
    const passDone = run.params.mode === 'fast' && (await retryTransient(() => this.prisma.runEpoch.count({ where: { runId: run.id } }))) > 0;
    let engineMs = 0; // the job's time at its last epoch
    try {
      let engineMsBefore = 0; // the job's time at the end of the previous epoch
      if (!passDone) await engine.run({ content, styles, params: run.params, resume: stored?.checkpoint }, async (epoch) => {
        const epochMs = epoch.elapsedMs - engineMsBefore;
        engineMsBefore = engineMs = epoch.elapsedMs;
        const recorded = await this.lifecycle.recordEpoch(run.id, {
          ...epoch,
          elapsedMs: elapsedBefore + epoch.elapsedMs,
          preview: { png: epoch.png, width: epoch.width, height: epoch.height },
        }, epoch.checkpoint, owner);
        if (!recorded) {
          controller.abort(NOT_RUNNING);
        } else {
          this.lifecycle.telemetry.epochFinished({
            runId: run.id, epoch: epoch.epoch, epochs: run.params.epochs, step: epoch.step, losses: epoch.losses,
            elapsedMs: recorded.elapsedMs, epochMs, backend: engine.backend,
          });
        }
      }, controller.signal);
    } catch (err) {
      if (!(err instanceof EngineAborted)) {
        await this.lifecycle.fail(run.id, reasonOf(err), owner);
        return;
      }
      if (err.reason === SHUTDOWN) {
        // The steps taken since the last epoch are kept: the next worker resumes from here.
        if (err.checkpoint) {
          await this.lifecycle.recordCheckpoint(run.id, err.checkpoint, owner).catch((failure: unknown) => {
            this.lifecycle.telemetry.logger.error({ runId: run.id, err: failure }, 'storing the checkpoint of a suspended run failed; it resumes from its last epoch');
          });
        }
        throw new RunSuspended(run.id);
      }
      return; // cancelled, deleted, or taken over: its row says so already
    }
    // The final image is the last epoch's image, already stored with that epoch
    // (also when the run resumed from a checkpoint taken at its very end).
    const last = await retryTransient(() => this.prisma.runEpoch.findUnique({
      where: { runId_epoch: { runId: run.id, epoch: run.params.epochs } },
      select: { previewSha256: true },
    }));
    // (Its preview is null only once retention dropped it, which it never does to an unfinished run.)
    if (last?.previewSha256) await this.lifecycle.succeed(run.id, last.previewSha256, owner);
    else await this.lifecycle.fail(run.id, `the engine stopped before epoch ${run.params.epochs}`, owner);
    // A run made in one go tells how far the engine's estimates are off.
    if (last?.previewSha256 && !stored && engineMs > 0) await this.correctSpeed(run, engine, engineMs);
  }

  private async correctSpeed(run: RunRecord, engine: EngineClient, measuredMs: number): Promise<void> {
    const images = await this.prisma.image.findMany({ where: { sha256: { in: [run.contentImage, ...run.styleImages] } }, select: { sha256: true, width: true, height: true } });
    const size = new Map(images.map((image) => [image.sha256, image]));
    const predicted = estimateRunTime(run.params, size.get(run.contentImage)!, run.styleImages.map((id) => size.get(id)!), engine.speed);
    await this.profiles.observed(engine.device, measuredMs, predicted.ms)
      .catch((err: unknown) => this.lifecycle.telemetry.logger.error({ err, runId: run.id }, 'correcting the engine\'s measured speed failed'));
  }

  /**
   * An idle engine thread, else the first one free: a new thread is started
   * for each run that waits, but goes to whichever run has waited longest (a
   * thread another run frees may come first: runs start in the order taken).
   */
  private async acquireEngine(): Promise<EngineClient> {
    await this.warmingUp;
    // An idle thread may have died (out of memory, say); it is passed over.
    for (let idle = this.idleEngines.pop(); idle; idle = this.idleEngines.pop()) if (idle.usable) return idle;
    return new Promise<EngineClient>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.engineWaiters.push(waiter);
      this.startEngine().then((fresh) => this.releaseEngine(fresh), (err: unknown) => {
        // Only the run it was started for fails; one served already by another thread has nothing to lose.
        const index = this.engineWaiters.indexOf(waiter);
        if (index >= 0) this.engineWaiters.splice(index, 1)[0].reject(err);
      });
    });
  }

  private async startEngine(): Promise<EngineClient> {
    const { telemetry } = this.lifecycle;
    try {
      const started = await EngineClient.start(this.options.engineThreads, {
        stats: (thread, stats) => telemetry.engineStats(thread.threadId, thread.backend, stats),
        exited: (thread) => telemetry.engineGone(thread.threadId, thread.backend),
      });
      telemetry.engineReady(started.backend, started.device);
      // Estimates rest on it; a failed write costs only their accuracy.
      await this.profiles.calibrated(started).catch((err: unknown) => telemetry.logger.error({ err }, 'storing the engine\'s measured speed failed'));
      return started;
    } catch (err) {
      telemetry.engineFailed(reasonOf(err));
      throw err;
    }
  }

  /**
   * To the run that has waited longest, else back to the idle ones; a thread
   * a job failed in is ended and a fresh one started at once (readiness is
   * false meanwhile). While stopping, a waiting run still gets it (it is
   * suspended at once, as its signal is aborted); an idle thread is ended.
   */
  private releaseEngine(engine: EngineClient): void {
    const waiter = engine.usable ? this.engineWaiters.shift() : undefined;
    if (waiter) {
      waiter.resolve(engine);
      return;
    }
    if (engine.usable && !this.stopping) {
      this.idleEngines.push(engine);
      return;
    }
    void engine.terminate();
    if (this.stopping || engine.usable) return;
    this.lifecycle.telemetry.engineReplacing();
    const previous = this.warmingUp ?? Promise.resolve();
    this.warmingUp = previous.then(() => this.startEngine()).then((fresh) => this.releaseEngine(fresh), () => undefined);
  }
}
