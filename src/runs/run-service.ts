import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  checkImagesFit, checkMemoryFits, estimateRunTime, isFastMode, largestFittingMaxDim, ParamError, presetStyles, resolveParams, runMemory,
  type BackendName, type ImageSize, type MemoryEstimate, type TransferParams,
} from '../engine/index.js';
import type { RunQueue } from '../queue/run-queue.js';
import type { Prisma, PrismaClient } from '../storage/generated/client.js';
import { isMissingReference, isUniqueViolation, retryTransient } from '../storage/db-errors.js';
import { deleteUnusedImages, visibleTo } from '../storage/images.js';
import { transactionSession } from '../storage/sql-session.js';
import { ADVISORY_LOCKS } from '../storage/advisory-locks.js';
import { crashPoint } from '../crash-points.js';
import { RateLimitError } from '../auth/rate-limit.js';
import type { RunEventBus } from './events.js';
import type { RunLifecycle } from './lifecycle.js';
import type { EngineProfile, EngineProfiles } from './engine-profiles.js';
import { PresetCatalog, type PresetInfo } from './presets.js';
import { RUN_INCLUDE, toEpochRecord, toFrameRecord, toRunRecord } from './records.js';
import { checkPainted, checkRunLimits, checkRunSteps, DEFAULT_RUN_RULES, runSteps, type RunRules } from './limits.js';
import { isTerminal, UNFINISHED_STATUSES, type EpochRecord, type FrameRecord, type RunRecord, type RunStatus, type StartRunInput } from './types.js';

export interface RunPage {
  runs: RunRecord[];
  /** Whether runs older than the last one returned exist. */
  hasMore: boolean;
}

export interface ListRunsOptions {
  /** How many, newest first (1..100; default 20). */
  first?: number;
  /** Continue after this run id (the last of the previous page). */
  after?: string | null;
  ownerId?: string | null;
  /** Only runs in this status. */
  status?: RunStatus | null;
}

const MAX_PAGE = 100;
const MAX_IDEMPOTENCY_KEY = 200;
/** On the embedded database a run's transaction waits its turn behind a worker's, which may be storing a large checkpoint. */
const START_TRANSACTION = { maxWait: 120_000, timeout: 60_000 };

/** The run service's names of the images in errors. */
const IMAGE_FIELDS = { content: 'contentImage', style: (i: number) => `styleImages[${i}]` };

/** Before any worker has said what it computes on: the embedded default's backend, whose memory is the tightest. */
const ASSUMED_BACKEND: BackendName = 'wasm';

export interface RunEstimate {
  /** On the engine that computed last, from its measured speed; null before any worker's engine has started. */
  seconds: number | null;
  steps: number;
  memory: MemoryEstimate;
  /** The largest maxDim that fits (these images, styleScale kept); null where the backend's memory is not limited so. */
  largestMaxDim: number | null;
  backend: BackendName;
  /** The engine the estimate is for; null: none has started yet. */
  engine: EngineProfile | null;
}

/**
 * The run an idempotency key found, if it was started with this same
 * request: a key reused for another run is a client's mistake, refused as
 * such (as Stripe does) rather than answered with a run it did not ask for.
 */
function sameRequest(existing: RunRecord, input: StartRunInput, params: TransferParams): RunRecord {
  const same = existing.contentImage === input.contentImage
    && isDeepStrictEqual(existing.styleImages, input.styleImages)
    // As stored: JSON, where an undefined field is no field.
    && isDeepStrictEqual(JSON.parse(JSON.stringify(existing.params)), JSON.parse(JSON.stringify(params)));
  if (!same) throw new ParamError('idempotencyKey', `was used for run ${existing.id}, started with other images or parameters; use a new key for a new run`);
  return existing;
}

/**
 * What the API layer calls: creates runs (validated before anything is
 * written), reads, cancels and deletes them. Workers take the runs from the
 * queue; their progress arrives as events (see `events`).
 */
export class RunService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: RunQueue,
    private readonly lifecycle: RunLifecycle,
    readonly events: RunEventBus,
    /** How fast the workers' engines compute, and so what fits them and how long a run takes. */
    readonly profiles: EngineProfiles,
    /** The fast-style networks runs in the fast modes may name. */
    readonly presets: PresetCatalog = new PresetCatalog(),
    /** The limits every run started here is held to (an API server's: withRules). */
    private readonly rules: RunRules = DEFAULT_RUN_RULES,
  ) {}

  /** This service holding the runs it starts to an API server's rules. */
  withRules(rules: RunRules): RunService {
    return new RunService(this.prisma, this.queue, this.lifecycle, this.events, this.profiles, this.presets, rules);
  }

  /**
   * Validates, stores and queues a run, owned by `ownerId`. With an
   * idempotency key this owner already used, returns that run
   * (`created: false`) and queues nothing. Throws ParamError naming the field
   * for invalid parameters or unknown images (writing nothing), and
   * RateLimitError when the owner has as many unfinished runs as the rules allow.
   */
  async startRun(request: StartRunInput): Promise<{ run: RunRecord; created: boolean }> {
    const { input, params } = await this.checkRequest(request);
    if (input.idempotencyKey) {
      const existing = await this.findByIdempotencyKey(input.idempotencyKey);
      if (existing) return { run: sameRequest(existing, input, params), created: false };
    }
    const sizes = await this.checkImages(input, params);
    checkMemoryFits(params, sizes.content, sizes.styles, await this.engineBackend(), IMAGE_FIELDS);

    // The run and its job in one transaction: a run accepted is always taken, and a crash before the commit leaves neither.
    const create = () => this.prisma.$transaction(async (tx) => {
      await this.checkUnfinishedRuns(tx, input.ownerId ?? null);
      const row = await tx.run.create({
        data: {
          jobId: randomUUID(),
          ownerId: input.ownerId ?? null,
          idempotencyKey: input.idempotencyKey || null,
          params: params as unknown as Prisma.InputJsonObject,
          seed: params.seed,
          // The creation is the run's first event.
          eventSeq: 1,
          totalFrames: sizes.content.frames,
          content: { connect: { sha256: input.contentImage } },
          styles: { create: input.styleImages.map((sha256, position) => ({ position, image: { connect: { sha256 } } })) },
        },
        include: RUN_INCLUDE,
      });
      crashPoint('run-stored');
      await this.queue.enqueue(row.jobId, row.id, transactionSession(tx));
      return row;
    }, START_TRANSACTION);
    let row;
    try {
      row = await create();
    } catch (err) {
      // Two requests with one idempotency key at once: the other one created it.
      if (input.idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.findByIdempotencyKey(input.idempotencyKey);
        if (existing) return { run: sameRequest(existing, input, params), created: false };
      }
      if (!isMissingReference(err)) throw err;
      // The last run using an image was deleted at this moment and the image with it (deleteUnusedImages):
      // refused naming the image, as if it had never been stored; if it is still there, the deletion is over.
      await this.checkImages(input, params);
      row = await create();
    }
    crashPoint('run-queued');
    this.queue.wakeWorkers();
    const run = toRunRecord(row);
    this.lifecycle.created(run);
    return { run, created: true };
  }

  /** The fast-style networks runs may name as `preset`, with their paintings stored. */
  listPresets(): Promise<PresetInfo[]> {
    return this.presets.list(this.prisma);
  }

  /** With `ownerId`, only that owner's run: another owner's is not found. */
  async getRun(id: string, ownerId?: string): Promise<RunRecord | null> {
    const row = await this.prisma.run.findUnique({ where: { id, ...(ownerId === undefined ? {} : { ownerId }) }, include: RUN_INCLUDE });
    return row && toRunRecord(row);
  }

  /** Newest first; `after` is the id of the last run of the previous page. */
  async listRuns(options: ListRunsOptions = {}): Promise<RunPage> {
    const first = options.first ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new ParamError('first', `must be an integer in 1..${MAX_PAGE}`);
    const found = await this.prisma.run.findMany({
      where: {
        ...(options.ownerId === undefined ? {} : { ownerId: options.ownerId }),
        ...(options.status ? { status: options.status } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      // Not `skip: 1`: under a status filter the cursor run itself may no longer match (its status changed),
      // and skipping would then drop a run that does; it is left out by id instead.
      ...(options.after ? { cursor: { id: options.after } } : {}),
      take: first + 2,
      include: RUN_INCLUDE,
    });
    const rows = found.filter((row) => row.id !== options.after);
    return { runs: rows.slice(0, first).map(toRunRecord), hasMore: rows.length > first };
  }

  /** The stored epochs of a run, in order (what a late subscriber replays before live events). */
  async listEpochs(runId: string): Promise<EpochRecord[]> {
    const rows = await this.prisma.runEpoch.findMany({ where: { runId }, orderBy: { epoch: 'asc' } });
    return rows.map(toEpochRecord);
  }

  /** The painted frames of a run over an animation, in order. */
  async listFrames(runId: string): Promise<FrameRecord[]> {
    const rows = await this.prisma.runFrame.findMany({ where: { runId }, orderBy: { frame: 'asc' } });
    return rows.map(toFrameRecord);
  }

  /** The run's last epoch stored at or before event `upToSeq`; null when there is none. */
  async latestEpoch(runId: string, upToSeq: number): Promise<EpochRecord | null> {
    const row = await this.prisma.runEpoch.findFirst({ where: { runId, eventSeq: { lte: upToSeq } }, orderBy: { epoch: 'desc' } });
    return row && toEpochRecord(row);
  }

  /** How many queued runs are ahead of this one (0: next); null unless it is QUEUED. */
  async queuePosition(runId: string): Promise<number | null> {
    const run = await this.prisma.run.findUnique({ where: { id: runId }, select: { status: true, createdAt: true } });
    if (run?.status !== 'QUEUED') return null;
    return this.prisma.run.count({ where: { status: 'QUEUED', createdAt: { lt: run.createdAt } } });
  }

  /**
   * Cancels a QUEUED or RUNNING run; a running one stops within one step (its
   * worker follows the CANCELED event). A finished run comes back unchanged;
   * null when there is no such run.
   */
  async cancelRun(id: string): Promise<RunRecord | null> {
    const canceled = await this.lifecycle.cancel(id);
    if (!canceled) return this.getRun(id);
    // A job not taken yet would only be skipped by the worker: drop it now.
    await this.queue.cancel((await this.prisma.run.findUniqueOrThrow({ where: { id }, select: { jobId: true } })).jobId);
    return canceled;
  }

  /** Deletes a run (cancelling it first), its epochs and checkpoint, and the images no other run uses. */
  async deleteRun(id: string): Promise<boolean> {
    const run = await this.getRun(id);
    if (!run) return false;
    if (!isTerminal(run.status)) await this.cancelRun(id);
    // Retried after a deadlock with a run being created on one of its images.
    return retryTransient(() => this.prisma.$transaction(async (tx) => {
      const previews = await tx.runEpoch.findMany({ where: { runId: id }, select: { previewSha256: true } });
      const frames = await tx.runFrame.findMany({ where: { runId: id }, select: { imageSha256: true } });
      const { count } = await tx.run.deleteMany({ where: { id } });
      const images = [run.contentImage, ...run.styleImages, ...previews.flatMap((p) => p.previewSha256 ?? []), ...frames.map((f) => f.imageSha256)];
      if (run.resultImage) images.push(run.resultImage);
      await deleteUnusedImages(tx, [...new Set(images)]);
      return count > 0;
    }));
  }

  private async findByIdempotencyKey(key: string): Promise<RunRecord | null> {
    const row = await this.prisma.run.findUnique({ where: { idempotencyKey: key }, include: RUN_INCLUDE });
    return row && toRunRecord(row);
  }

  /**
   * The request with its parameters resolved and checked against the rules,
   * a fast mode's style images filled in, and its idempotency key made the
   * owner's (one owner's key never finds another's run).
   */
  private async checkRequest(input: StartRunInput): Promise<{ input: StartRunInput; params: TransferParams }> {
    const key = input.idempotencyKey;
    if (key && key.length > MAX_IDEMPOTENCY_KEY) throw new ParamError('idempotencyKey', `must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
    const params = resolveParams(input.params ?? {});
    // In the fast modes the style image is the network's painting (stored now, if it was not yet).
    const styleImages = isFastMode(params.mode) ? await this.presetStyleImages(input.styleImages, params) : input.styleImages;
    checkRunLimits(params, styleImages.length, this.rules.limits);
    this.checkStyles(styleImages, params);
    const idempotencyKey = key && input.ownerId != null ? `${input.ownerId}:${key}` : key;
    return { input: { ...input, styleImages, idempotencyKey }, params };
  }

  /**
   * Refused, as a rate limit is, once the owner has as many queued or running
   * runs as the rules allow. Counted inside the transaction that stores the
   * run, under the owner's lock: starts racing on several API processes are
   * counted one after the other, each seeing the runs stored before it.
   */
  private async checkUnfinishedRuns(tx: Prisma.TransactionClient, ownerId: string | null): Promise<void> {
    const max = this.rules.maxQueuedRuns;
    if (ownerId === null || !Number.isFinite(max)) return;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADVISORY_LOCKS.ownerRuns}::int, hashtext(${ownerId}))`;
    const unfinished = await tx.run.count({ where: { ownerId, status: { in: [...UNFINISHED_STATUSES] } } });
    if (unfinished >= max) {
      throw new RateLimitError(
        `this token already has ${unfinished} unfinished runs, the most it may have queued or running at once (${max}); start more once some finish, or cancel some`,
        30,
        'queuedRuns',
      );
    }
  }

  private checkStyles(styleImages: string[], params: TransferParams): void {
    // A FAST run's network may come without its painting: then there is nothing to measure its style loss against.
    if (styleImages.length === 0 && params.mode !== 'fast') throw new ParamError('styleImages', 'needs at least one style image');
    if (params.styleBlend && params.styleBlend.length !== styleImages.length) {
      throw new ParamError('styleBlend', `has ${params.styleBlend.length} weights for ${styleImages.length} style images`);
    }
  }

  /** The style images of a run in a fast mode: the preset's painting, which FAST_THEN_OPTIMIZE cannot do without. */
  private async presetStyleImages(given: string[], params: TransferParams): Promise<string[]> {
    if (given.length > 0) {
      throw new ParamError('styleImages', `must be left out in mode ${params.mode}: the style is the painting of the preset's network`);
    }
    const preset = await this.presets.get(this.prisma, params.preset!);
    return presetStyles(params, preset.painting?.sha256 ?? null);
  }

  /**
   * What a run would take on the engine that computed last (its backend,
   * threads and measured speed): time, memory, and whether it fits. Checks
   * the input as startRun does, and writes nothing (the preset's painting
   * excepted, stored on first use).
   */
  async estimateRun(request: StartRunInput): Promise<RunEstimate> {
    const { input, params } = await this.checkRequest(request);
    const { content, styles } = await this.checkImages(input, params);
    const profile = await this.profiles.latest();
    const backend = profile?.backend ?? ASSUMED_BACKEND;
    const memory = runMemory(params, content, styles, backend);
    const time = profile && estimateRunTime(params, content, styles, profile.speed, profile.correction);
    return {
      // An animation's frames are painted one after the other, each as a still image of its size.
      seconds: time ? time.ms * content.frames / 1000 : null,
      steps: runSteps(params, content.frames),
      memory,
      largestMaxDim: memory.heapLimitBytes === null ? null : largestFittingMaxDim(params, content, styles, backend),
      backend,
      engine: profile,
    };
  }

  /** The backend runs are sized for: the latest engine's, else WebAssembly (what runs where no native TensorFlow is installed). */
  async engineBackend(): Promise<BackendName> {
    return (await this.profiles.latest())?.backend ?? ASSUMED_BACKEND;
  }

  /**
   * The images must be stored, in the request's scope, still images the
   * engine paints (checkPainted), and large enough for the layers at every
   * scale (checked on their stored sizes); returns their sizes.
   */
  private async checkImages(input: StartRunInput, params: TransferParams): Promise<{ content: ImageSize & { frames: number }; styles: ImageSize[] }> {
    const wanted = [input.contentImage, ...input.styleImages];
    const found = new Map((await this.prisma.image.findMany({
      // Another owner's image is as unknown as one never stored.
      where: { sha256: { in: wanted }, ...visibleTo(input.imageScope) },
      select: { sha256: true, width: true, height: true, mimeType: true, frames: true },
    })).map((image) => [image.sha256, image]));
    const content = found.get(input.contentImage);
    if (!content) throw new ParamError('contentImage', 'no stored image has this id');
    checkPainted(content, 'contentImage', true);
    checkRunSteps(params, content.frames, this.rules.limits);
    const styles = input.styleImages.map((sha256, i) => {
      const style = found.get(sha256);
      if (!style) throw new ParamError(`styleImages[${i}]`, 'no stored image has this id');
      checkPainted(style, `styleImages[${i}]`);
      return style;
    });
    checkImagesFit(params, content, styles, IMAGE_FIELDS);
    return { content, styles };
  }
}
