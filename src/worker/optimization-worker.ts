import { estimateRunTime } from '../engine/index.js';
import type { MovingImages } from '../images/moving-images.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { RunQueue } from '../queue/run-queue.js';
import type { EngineProfiles } from '../runs/engine-profiles.js';
import type { RunEventBus } from '../runs/events.js';
import type { RunLifecycle } from '../runs/lifecycle.js';
import { RunRepository } from '../runs/run-repository.js';
import { isTerminal, type RunRecord } from '../runs/types.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { retryTransient } from '../storage/db-errors.js';
import { EngineAborted, type EngineClient } from './engine-client.js';
import type { EngineJob } from './engine-protocol.js';
import { EnginePool } from './engine-pool.js';
import type { RunLeases } from './run-leases.js';

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
 * Takes runs from the queue and optimises them in engine threads (EnginePool).
 * After each epoch it stores the epoch row with its preview image and the
 * checkpoint, then publishes the event (RunLifecycle.recordEpoch); between
 * epochs it publishes the steps the engine thread samples; the final
 * image is stored before the run becomes SUCCEEDED. A run found RUNNING when its job
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
export class OptimizationWorker {
  /** Its reads of runs; the writes are the lifecycle's. */
  private readonly runs: RunRepository;
  private readonly engines: EnginePool;
  /** The runs this worker optimises now, each stopped through its controller. */
  private readonly running = new Map<string, AbortController>();
  private readonly handlers = new Set<Promise<void>>();
  private stopping = false;

  /** `exclusive`: no other process can open the database (the embedded one), so runs held at start-up are orphans. */
  constructor(
    prisma: PrismaClient,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
    private readonly events: RunEventBus,
    private readonly leases: RunLeases,
    private readonly profiles: EngineProfiles,
    private readonly telemetry: Telemetry,
    private readonly movingImages: MovingImages,
    private readonly options: { concurrency: number; exclusive: boolean; engineThreads: number; warmUpEngine?: boolean },
  ) {
    this.runs = new RunRepository(prisma);
    this.engines = new EnginePool(options.engineThreads, profiles, telemetry);
  }

  async start(): Promise<void> {
    // Asked to (stylegraph serve), one engine thread starts now, not with the first run.
    if (this.options.warmUpEngine) this.engines.warmUp();
    await this.recover();
    await this.queue.work(this.options.concurrency, (job) => this.track(this.handle(job.jobId, job.runId)));
    this.leases.startHeartbeat(this.queue, this.running, this.telemetry.logger);
  }

  /** Stops taking runs, suspends the running ones (each stores the state it stopped at; their jobs are retried later). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.engines.drain();
    await this.queue.stopWorking();
    for (const controller of this.running.values()) controller.abort(SHUTDOWN);
    await Promise.allSettled(this.handlers);
    // Leases are renewed until the suspended runs have been released.
    await this.leases.stopHeartbeat();
    await this.engines.close();
  }

  /**
   * Mends what processes killed mid-way left behind: runs held by a dead
   * worker (on the embedded database: every run held, its one process is
   * gone) go back to the queue. (A QUEUED run always has its job: both are
   * stored in one transaction.)
   */
  private async recover(): Promise<void> {
    await this.leases.handBackExpired(this.queue, this.options.exclusive);
  }

  private track(handler: Promise<void>): Promise<void> {
    this.handlers.add(handler);
    return handler.finally(() => this.handlers.delete(handler));
  }

  /** A job of the queue: claims its run, starts it if it is QUEUED, and optimises it to its end or until it is stopped. */
  private async handle(jobId: string, runId: string): Promise<void> {
    const found = await retryTransient(() => this.runs.findWithJob(runId));
    // Cancelled or deleted while queued, or moved to a newer job: nothing to do.
    if (!found || isTerminal(found.run.status) || found.jobId !== jobId) return;
    const { run } = found;
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
        engine = await this.engines.acquire();
      } catch (err) {
        if (run.status === 'QUEUED') await this.lifecycle.start(runId, null, owner);
        await this.lifecycle.fail(runId, reasonOf(err), owner);
        return;
      }
      if (run.status === 'QUEUED' && !(await this.lifecycle.start(runId, engine, owner))) return;
      if (run.totalFrames > 1) await this.paintFrames(run, engine, controller);
      else await this.optimize(run, engine, controller);
    } catch (err) {
      // Its job goes back to the queue: let the next worker claim the run at once.
      if (err instanceof RunSuspended) await this.leases.release(runId);
      throw err;
    } finally {
      unsubscribe();
      this.running.delete(runId);
      if (engine) this.engines.release(engine);
    }
  }

  /** A still image: one engine job, resumed from the run's checkpoint; its last epoch's image is the result. */
  private async optimize(run: RunRecord, engine: EngineClient, controller: AbortController): Promise<void> {
    const owner = this.leases.workerId;
    // Read after the claim: a worker that held the run before can no longer add to it.
    const stored = await this.lifecycle.latestCheckpoint(run.id);
    const { content, styles } = await retryTransient(() => this.runs.inputImages(run));
    // A FAST run keeps no checkpoint: taken again once its one epoch is stored, only its status is left to set.
    const passDone = run.params.mode === 'fast' && (await retryTransient(() => this.runs.hasEpochs(run.id)));
    let engineMs = 0;
    if (!passDone) {
      const job = { content, styles, params: run.params, resume: stored?.checkpoint };
      const done = await this.paintJob(run, engine, controller, job, { epochsBefore: 0, elapsedBefore: stored?.elapsedMs ?? 0 });
      if (done === null) return;
      engineMs = done;
    }
    // The final image is the last epoch's image, already stored with that epoch
    // (also when the run resumed from a checkpoint taken at its very end).
    const result = await retryTransient(() => this.runs.epochPreview(run.id, run.params.epochs));
    // (Its preview is null only once retention dropped it, which it never does to an unfinished run.)
    if (result) await this.lifecycle.succeed(run.id, result, owner);
    else await this.lifecycle.fail(run.id, `the engine stopped before epoch ${run.params.epochs}`, owner);
    // A run made in one go tells how far the engine's estimates are off.
    if (result && !stored && engineMs > 0) await this.correctSpeed(run, engine, engineMs);
  }

  /**
   * A run over an animation: each frame is painted as a still image, by an
   * engine job of its own whose epochs are stored as the run's (numbered on
   * from the previous frame's), then stored as a frame (RunLifecycle.recordFrame).
   * With a temporal weight, a frame starts from and is held to the previous
   * frame's result carried along the content's motion (the engine's
   * `previous`). A run taken again resumes the first frame not stored, from
   * its checkpoint. Then the painted frames are joined into an animation of
   * the content's kind, each shown as long as its content frame, and that is
   * the result, with its flicker (measured in the engine thread).
   */
  private async paintFrames(run: RunRecord, engine: EngineClient, controller: AbortController): Promise<void> {
    const owner = this.leases.workerId;
    const { content, styles } = await retryTransient(() => this.runs.inputImages(run));
    const animation = await this.movingImages.read(content);
    if (animation.frames.length !== run.totalFrames) {
      // The content was decoded by another ffmpeg when it came in, one that counted its frames otherwise.
      await this.lifecycle.fail(run.id, `the content decodes to ${animation.frames.length} frames here, ${run.totalFrames} when it was uploaded`, owner);
      return;
    }
    const painted = await retryTransient(() => this.runs.paintedFrames(run.id));
    const paintedBytes = await retryTransient(() => this.runs.imageBytes(painted));
    const { epochs } = run.params;
    for (let index = painted.length; index < animation.frames.length; index++) {
      const lastEpoch = (index + 1) * epochs;
      // Stored already when a crash came between the frame's last epoch and the frame.
      if (!(await retryTransient(() => this.runs.epochPreview(run.id, lastEpoch)))) {
        // Always this frame's: recordFrame drops the frame's checkpoint with it.
        const stored = await this.lifecycle.latestCheckpoint(run.id);
        const previous = index > 0 ? { content: animation.frames[index - 1], result: paintedBytes[index - 1] } : undefined;
        const job = { content: animation.frames[index], styles, params: run.params, resume: stored?.checkpoint, previous };
        const elapsedBefore = stored?.elapsedMs ?? (await retryTransient(() => this.runs.epochElapsedMs(run.id, index * epochs)));
        if ((await this.paintJob(run, engine, controller, job, { epochsBefore: index * epochs, elapsedBefore })) === null) return;
      }
      const recorded = await this.lifecycle.recordFrame(run.id, { frame: index + 1, epoch: lastEpoch, delayMs: animation.delaysMs[index] }, owner);
      if (!recorded) return; // cancelled, deleted, or taken over
      paintedBytes.push(...(await retryTransient(() => this.runs.imageBytes([recorded.image]))));
    }
    const { bytes, ...info } = await animation.join(paintedBytes);
    const flicker = await engine.measureFlicker({ contents: animation.frames, results: paintedBytes });
    await this.lifecycle.succeedWithAnimation(run.id, { bytes, info, flicker }, owner);
  }

  /**
   * One engine job of a run, its epochs stored and published as the run's
   * (after `epochsBefore` epochs taking `elapsedBefore` ms), its steps
   * published. Returns the job's own time at its last epoch, or null when
   * it did not finish (jobStopped has dealt with that).
   */
  private async paintJob(
    run: RunRecord, engine: EngineClient, controller: AbortController, job: EngineJob,
    { epochsBefore, elapsedBefore }: { epochsBefore: number; elapsedBefore: number },
  ): Promise<number | null> {
    const owner = this.leases.workerId;
    const { epochs, stepsPerEpoch } = run.params;
    const stepsBefore = epochsBefore * stepsPerEpoch;
    let engineMs = 0; // the job's time at its last epoch
    try {
      let engineMsBefore = 0; // the job's time at the end of the previous epoch
      await engine.run(job, {
        onEpoch: async (epoch) => {
          const epochMs = epoch.elapsedMs - engineMsBefore;
          engineMsBefore = engineMs = epoch.elapsedMs;
          const ofRun = { ...epoch, epoch: epochsBefore + epoch.epoch, step: stepsBefore + epoch.step, elapsedMs: elapsedBefore + epoch.elapsedMs };
          const recorded = await this.lifecycle.recordEpoch(run.id, ofRun, epoch.checkpoint, owner);
          if (!recorded) {
            controller.abort(NOT_RUNNING);
          } else {
            this.telemetry.epochFinished({
              runId: run.id, epoch: ofRun.epoch, epochs: epochs * run.totalFrames, step: ofRun.step, losses: epoch.losses,
              elapsedMs: recorded.elapsedMs, epochMs, backend: engine.backend,
            });
          }
        },
        onStep: (step) =>
          // Nothing is stored: the step only tells subscribers how far the epoch in progress has come.
          this.events.publishStep({
            ...step, runId: run.id, step: stepsBefore + step.step,
            epoch: epochsBefore + Math.ceil(step.step / stepsPerEpoch), elapsedMs: elapsedBefore + step.elapsedMs,
          }),
      }, controller.signal);
    } catch (err) {
      await this.jobStopped(run, err);
      return null;
    }
    return engineMs;
  }

  /**
   * What an engine job that did not finish means for its run: the engine's
   * failure fails it; a shutdown suspends it (throws RunSuspended), keeping
   * the steps taken since its last epoch; a cancel, a deletion or a take-over
   * needs nothing (the run's row says so already).
   */
  private async jobStopped(run: RunRecord, err: unknown): Promise<void> {
    const owner = this.leases.workerId;
    if (!(err instanceof EngineAborted)) {
      await this.lifecycle.fail(run.id, reasonOf(err), owner);
      return;
    }
    if (err.reason !== SHUTDOWN) return;
    // The next worker resumes from here.
    if (err.checkpoint) {
      await this.lifecycle.recordCheckpoint(run.id, err.checkpoint, owner).catch((failure: unknown) => {
        this.telemetry.logger.error({ runId: run.id, err: failure }, 'storing the checkpoint of a suspended run failed; it resumes from its last epoch');
      });
    }
    throw new RunSuspended(run.id);
  }

  private async correctSpeed(run: RunRecord, engine: EngineClient, measuredMs: number): Promise<void> {
    const sizes = await this.runs.inputSizes(run);
    const predicted = estimateRunTime(run.params, sizes.content, sizes.styles, engine.speed);
    await this.profiles.observed(engine.device, measuredMs, predicted.ms)
      .catch((err: unknown) => this.telemetry.logger.error({ err, runId: run.id }, 'correcting the engine\'s measured speed failed'));
  }
}
