import type { Checkpoint } from '../engine/index.js';
import { Telemetry } from '../observability/telemetry.js';
import { dropCheckpoint, readCheckpoint, storeCheckpoint } from './checkpoints.js';
import { Prisma, type PrismaClient } from '../storage/generated/client.js';
import { storeImage, storeImageIn, type FrameInfo, type ImageInfo } from '../storage/images.js';
import { isNoMatch, isUniqueViolation, retryTransient } from '../storage/db-errors.js';
import type { RunEventBus } from './events.js';
import { RUN_INCLUDE, toEpochRecord, toFrameRecord, toRunRecord } from './records.js';
import { FINAL_STATUSES, isTerminal, type EpochRecord, type FinishedEpoch, type FinishedFrame, type FrameRecord, type RunRecord, type RunStatus, type UnfinishedStatus } from './types.js';

/**
 * The state machine of a run and every write that changes what a run is:
 * QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELED, and QUEUED -> CANCELED.
 * Each write is guarded by the status it expects, so of two racing writers
 * (a worker finishing, a user cancelling) exactly one wins, on PGlite and on a
 * server alike. Each publishes its event after it is committed, numbered by
 * the run's `eventSeq` column, which the same write increments.
 *
 * A worker passes its id as `owner`: its writes then also need it to hold the
 * run's lease (`workerId`, see src/worker/run-leases.ts), so that a worker
 * that lost a run to another (it was thought dead) changes nothing.
 *
 * Every write is one transaction, retried when the database connection is
 * lost or a deadlock is broken (retryTransient): the guard makes a repeat
 * harmless, and a write that fails leaves nothing behind.
 */

/** The moves out of each unfinished status; none leads out of a final one (FINAL_STATUSES). */
const TRANSITIONS: Readonly<Record<UnfinishedStatus, readonly RunStatus[]>> = {
  QUEUED: ['RUNNING', 'CANCELED'],
  // A running run may end in any of them.
  RUNNING: FINAL_STATUSES,
};

function statusesLeadingTo(to: RunStatus): RunStatus[] {
  return (Object.keys(TRANSITIONS) as UnfinishedStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

/** The guard of a worker's writes: the run's lease is still this worker's. */
function ownedBy(owner: string | undefined): { workerId?: string } {
  return owner === undefined ? {} : { workerId: owner };
}


export interface StoredCheckpoint {
  checkpoint: Checkpoint;
  /**
   * The epoch at whose end it was taken, and the run's elapsed time then; for
   * one taken mid-epoch (at a shutdown), the last epoch stored before it (0, with no time, if none).
   */
  epoch: number;
  elapsedMs: number;
}

/** A large checkpoint takes PGlite a while to write (about 0.2 s per MiB); allow for it. */
const EPOCH_TRANSACTION_TIMEOUT_MS = 120_000;

export class RunLifecycle {
  /** `telemetry` logs each status change and moves the metrics (the worker reports epochs to it too). */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: RunEventBus,
    private readonly telemetry: Telemetry = Telemetry.silent(),
  ) {}

  /** A run just stored (QUEUED): its creation is its first event. */
  created(run: RunRecord): void {
    this.events.publish({ type: 'status', runId: run.id, seq: run.eventSeq, status: run.status, error: null, at: run.createdAt });
    this.telemetry.runStatusChanged(run);
  }

  /** Moves the run to `to` if its current status allows; null when it does not (or the run is gone). */
  private async transition(runId: string, to: RunStatus, owner: string | undefined, fields: Prisma.RunUpdateInput = {}): Promise<RunRecord | null> {
    const at = new Date();
    let row;
    try {
      row = await retryTransient(() => this.prisma.$transaction(async (tx) => {
        const updated = await tx.run.update({
          where: { id: runId, status: { in: statusesLeadingTo(to) }, ...ownedBy(owner) },
          data: { ...fields, status: to, eventSeq: { increment: 1 }, ...(to === 'RUNNING' ? { startedAt: at } : { finishedAt: at }) },
          include: RUN_INCLUDE,
        });
        // A finished run never resumes: its checkpoint (several MB at 512 px) goes with the status change.
        if (isTerminal(to)) await dropCheckpoint(tx, runId);
        return updated;
      }));
    } catch (err) {
      if (isNoMatch(err)) return null;
      throw err;
    }
    const run = toRunRecord(row);
    this.events.publish({ type: 'status', runId, seq: run.eventSeq, status: to, error: run.error, at });
    this.telemetry.runStatusChanged(run);
    return run;
  }

  /** `engine` is null when no engine could be started (the run then fails with the reason). */
  start(runId: string, engine: { backend: string; device: string } | null, owner?: string): Promise<RunRecord | null> {
    return this.transition(runId, 'RUNNING', owner, { backend: engine?.backend, device: engine?.device });
  }

  /** The result image must be stored before this is called. */
  succeed(runId: string, resultSha256: string, owner?: string): Promise<RunRecord | null> {
    return this.transition(runId, 'SUCCEEDED', owner, { result: { connect: { sha256: resultSha256 } } });
  }

  /**
   * Stores the result of a run over an animation (its painted frames joined
   * into one), then moves the run to SUCCEEDED with it and its flicker.
   * Should the run have stopped meanwhile, the image is left unused, for
   * retention to delete.
   */
  async succeedWithAnimation(runId: string, result: { bytes: Uint8Array; info: ImageInfo & FrameInfo; flicker: number | null }, owner?: string): Promise<RunRecord | null> {
    const { sha256 } = await retryTransient(() => storeImage(this.prisma, result.bytes, result.info));
    return this.transition(runId, 'SUCCEEDED', owner, { result: { connect: { sha256 } }, flicker: result.flicker });
  }

  fail(runId: string, reason: string, owner?: string): Promise<RunRecord | null> {
    return this.transition(runId, 'FAILED', owner, { error: reason });
  }

  /** By a user: whoever optimises the run learns it from the CANCELED event. */
  cancel(runId: string): Promise<RunRecord | null> {
    return this.transition(runId, 'CANCELED', undefined);
  }

  /**
   * Stores a finished epoch with its preview image, and the checkpoint taken
   * at its end, in one transaction (so none is ever stored without the
   * others), then publishes the epoch's event. Null, with nothing written,
   * when the run is no longer RUNNING (cancelled, deleted) or `owner` no
   * longer holds it.
   */
  async recordEpoch(runId: string, epoch: FinishedEpoch, checkpoint: Checkpoint | null, owner?: string): Promise<EpochRecord | null> {
    let row;
    try {
      row = await retryTransient(() => this.prisma.$transaction(async (tx) => {
        const preview = await storeImageIn(tx, epoch.preview.png, { mimeType: 'image/png', width: epoch.preview.width, height: epoch.preview.height });
        const { eventSeq } = await tx.run.update({
          where: { id: runId, status: 'RUNNING', ...ownedBy(owner) },
          data: { currentEpoch: epoch.epoch, eventSeq: { increment: 1 } },
          select: { eventSeq: true },
        });
        const created = await tx.runEpoch.create({
          data: {
            runId,
            epoch: epoch.epoch,
            step: epoch.step,
            totalLoss: epoch.losses.total,
            contentLoss: epoch.losses.content,
            styleLoss: epoch.losses.style,
            totalVariationLoss: epoch.losses.totalVariation,
            temporalLoss: epoch.losses.temporal,
            layerLosses: epoch.layers as unknown as Prisma.InputJsonObject,
            elapsedMs: Math.round(epoch.elapsedMs),
            previewSha256: preview.sha256,
            eventSeq,
          },
        });
        // None after a FAST run's one pass: nothing continues from it.
        if (checkpoint) await storeCheckpoint(tx, runId, epoch.epoch, checkpoint);
        return created;
      }, { timeout: EPOCH_TRANSACTION_TIMEOUT_MS }));
    } catch (err) {
      if (isNoMatch(err)) return null;
      // A retry of a commit whose answer the lost connection swallowed: the epoch is stored.
      const stored = isUniqueViolation(err) && await this.prisma.runEpoch.findUnique({ where: { runId_epoch: { runId, epoch: epoch.epoch } } });
      if (!stored) throw err;
      row = stored;
    }
    const record = toEpochRecord(row);
    this.events.publish({ type: 'epoch', runId, seq: record.seq, epoch: record });
    return record;
  }

  /**
   * Stores a painted frame of a run over an animation: the image and losses
   * of its last epoch, stored already; in the same transaction the frame's
   * checkpoint goes (so a checkpoint found is always the next frame's). Then
   * publishes the frame's event. Null, with nothing written, when the run is
   * no longer RUNNING or `owner` no longer holds it.
   */
  async recordFrame(runId: string, frame: FinishedFrame, owner?: string): Promise<FrameRecord | null> {
    let row;
    try {
      row = await retryTransient(() => this.prisma.$transaction(async (tx) => {
        const { eventSeq } = await tx.run.update({
          where: { id: runId, status: 'RUNNING', ...ownedBy(owner) },
          data: { currentFrame: frame.frame, eventSeq: { increment: 1 } },
          select: { eventSeq: true },
        });
        const epoch = await tx.runEpoch.findUniqueOrThrow({ where: { runId_epoch: { runId, epoch: frame.epoch } } });
        await dropCheckpoint(tx, runId);
        return tx.runFrame.create({
          data: {
            runId,
            frame: frame.frame,
            totalLoss: epoch.totalLoss,
            contentLoss: epoch.contentLoss,
            styleLoss: epoch.styleLoss,
            totalVariationLoss: epoch.totalVariationLoss,
            temporalLoss: epoch.temporalLoss,
            elapsedMs: epoch.elapsedMs,
            delayMs: frame.delayMs,
            // Retention drops previews of finished runs only, never of one RUNNING.
            imageSha256: epoch.previewSha256!,
            eventSeq,
          },
        });
      }, { timeout: EPOCH_TRANSACTION_TIMEOUT_MS }));
    } catch (err) {
      if (isNoMatch(err)) return null;
      // A retry of a commit whose answer the lost connection swallowed: the frame is stored.
      const stored = isUniqueViolation(err) && await this.prisma.runFrame.findUnique({ where: { runId_frame: { runId, frame: frame.frame } } });
      if (!stored) throw err;
      row = stored;
    }
    const record = toFrameRecord(row);
    this.events.publish({ type: 'frame', runId, seq: record.seq, frame: record });
    return record;
  }

  /**
   * Stores a checkpoint taken between epochs (a worker shutting down keeps
   * the steps taken since the last epoch), replacing the one of that epoch.
   * It belongs to the last stored epoch, whose elapsed time it resumes with.
   * False, with nothing written, when the run is no longer RUNNING or `owner`
   * no longer holds it.
   */
  async recordCheckpoint(runId: string, checkpoint: Checkpoint, owner?: string): Promise<boolean> {
    try {
      await retryTransient(() => this.prisma.$transaction(async (tx) => {
        // A write that changes nothing, for the guard and the row lock (an epoch cannot be stored meanwhile).
        const { currentEpoch } = await tx.run.update({
          where: { id: runId, status: 'RUNNING', ...ownedBy(owner) },
          data: { currentEpoch: { increment: 0 } },
          select: { currentEpoch: true },
        });
        await storeCheckpoint(tx, runId, currentEpoch, checkpoint);
      }, { timeout: EPOCH_TRANSACTION_TIMEOUT_MS }));
      return true;
    } catch (err) {
      if (isNoMatch(err)) return false;
      throw err;
    }
  }

  latestCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
    return retryTransient(async () => {
      const stored = await readCheckpoint(this.prisma, runId);
      if (!stored) return null;
      // Epoch 0: taken (at a shutdown) before the first epoch ended.
      const { elapsedMs } = stored.epoch === 0 ? { elapsedMs: 0 } : await this.prisma.runEpoch.findUniqueOrThrow({
        where: { runId_epoch: { runId, epoch: stored.epoch } },
        select: { elapsedMs: true },
      });
      return { ...stored, elapsedMs };
    });
  }
}
