import { isFastMode, ParamError, resolveParams, type PartialParams, type RunMode, type TransferParams } from '../engine/index.js';
import { ownerScope, type Caller } from '../auth/caller.js';
import { RateLimitError } from '../auth/rate-limit.js';
import type { RunEstimate, RunService } from '../runs/run-service.js';
import type { EpochRecord, RunRecord, RunStatus } from '../runs/types.js';
import { NotFoundError } from './errors.js';
import type { ImageLibrary } from '../images/image-library.js';
import { checkRunLimits, type ApiLimits } from '../runs/limits.js';
import { SharedResults } from '../shared-results.js';
import type { RunConnection } from './types/run-connection.js';
import type { StartRunInput } from './types/start-run-input.js';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_IDEMPOTENCY_KEY = 200;

/** A run's cursor: opaque to clients (Relay), so that what it holds may change without breaking them. */
function runCursor(runId: string): string {
  return Buffer.from(`run:${runId}`).toString('base64url');
}

/** The run id a cursor holds; null for anything that is not one of ours. */
function runOfCursor(cursor: string): string | null {
  const decoded = /^[A-Za-z0-9_-]{1,80}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const id = decoded.startsWith('run:') ? decoded.slice(4) : '';
  return RUN_ID.test(id) ? id : null;
}

/** StartRunInput fields that are run parameters, under the same names. */
const PARAM_FIELDS = [
  'maxDim', 'epochs', 'stepsPerEpoch', 'contentWeight', 'styleWeight', 'totalVariationWeight',
  'optimizer', 'learningRate', 'lbfgsHistory', 'init', 'seed', 'styleScale', 'preserveColors', 'multiscale', 'pooling', 'mode', 'preset',
] as const satisfies readonly (keyof StartRunInput & keyof TransferParams)[];

/** The run service's field names -> the API's. */
function apiField(field: string): string {
  return field.replace(/^contentImage$/, 'contentImageId').replace(/^styleImages\b/, 'styleImageIds');
}

/** Runs a call of the run service, its ParamErrors ("<field>: <reason>") naming the API's field instead. */
async function withApiFields<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ParamError) throw new ParamError(apiField(err.field), err.problem);
    throw err;
  }
}

/**
 * What the API asks of the run service, in the API's terms: ids that may be
 * malformed, clones with overrides, the server's limits, NOT_FOUND errors and
 * cursor pages.
 */
export class RunsApi {
  /** A run's epochs at one event sequence number: read once for every subscriber and alias that asks. */
  private readonly epochsAt = new SharedResults<EpochRecord[]>(5_000);
  /** Starts per owner, one at a time, so that the queued-runs limit holds under concurrent requests. */
  private readonly starting = new Map<string, Promise<unknown>>();

  constructor(
    private readonly runs: RunService,
    private readonly limits: ApiLimits,
    private readonly images?: ImageLibrary,
    /** Unfinished (QUEUED or RUNNING) runs one owner may have; callers without an owner (auth off) are not limited. */
    private readonly maxQueuedRuns = Infinity,
  ) {}

  /**
   * Null for an unknown or malformed id, and for another owner's run: its
   * existence is not revealed, not even by timing (one query answers both).
   */
  async find(id: string, caller: Caller): Promise<RunRecord | null> {
    return RUN_ID.test(id) ? this.runs.getRun(id, ownerScope(caller)) : null;
  }

  async get(id: string, caller: Caller): Promise<RunRecord> {
    const run = await this.find(id, caller);
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /** Validates everything (writing nothing when refused), then stores and queues the run, owned by the caller. */
  async start(input: StartRunInput, caller: Caller): Promise<RunRecord> {
    const owner = caller.ownerId;
    if (owner === null || !Number.isFinite(this.maxQueuedRuns)) return this.startChecked(input, caller);
    const previous = this.starting.get(owner) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(() => this.startChecked(input, caller));
    this.starting.set(owner, result);
    try {
      return await result;
    } finally {
      if (this.starting.get(owner) === result) this.starting.delete(owner);
    }
  }

  /** What startRun would take (time, memory, whether it fits), checked as startRun checks it; writes nothing. */
  async estimate(input: StartRunInput, caller: Caller): Promise<RunEstimate> {
    const { contentImage, styleImages, params } = await this.resolveInput(input, caller);
    return withApiFields(() => this.runs.estimateRun({ contentImage, styleImages, params, ownerId: caller.ownerId }));
  }

  /** The run the input asks for, in the run service's terms: a clone's images and parameters filled in, limits and ownership checked. */
  private async resolveInput(input: StartRunInput, caller: Caller): Promise<{ contentImage: string; styleImages: string[]; params: TransferParams }> {
    const base = input.cloneOf ? await this.find(input.cloneOf, caller) : null;
    if (input.cloneOf && !base) throw new ParamError('cloneOf', 'no run has this id');
    const contentImage = input.contentImageId ?? base?.contentImage;
    // In the fast modes the style is the network's painting: the run service adds it.
    const styleImages = input.styleImageIds ?? (isFastMode(modeOf(input, base)) ? [] : base?.styleImages);
    if (!contentImage) throw new ParamError('contentImageId', 'is required unless cloneOf is given');
    if (!styleImages) throw new ParamError('styleImageIds', 'is required unless cloneOf is given or mode is FAST or FAST_THEN_OPTIMIZE');
    const params = resolveParams({ ...base?.params, ...parameterOverrides(input) });
    checkRunLimits(params, styleImages.length, this.limits);
    // Another owner's image is as unknown as one never stored (a clone's images are the caller's through the cloned run).
    if (this.images && !caller.admin) {
      const cloned = new Set(base ? [base.contentImage, ...base.styleImages] : []);
      const own = (id: string) => cloned.has(id) ? Promise.resolve(true) : this.images!.visible(id, caller);
      if (!(await own(contentImage))) throw new ParamError('contentImageId', 'no stored image has this id');
      for (const [i, id] of styleImages.entries()) {
        if (!(await own(id))) throw new ParamError(`styleImageIds[${i}]`, 'no stored image has this id');
      }
    }
    return { contentImage, styleImages, params };
  }

  private async startChecked(input: StartRunInput, caller: Caller): Promise<RunRecord> {
    if (input.idempotencyKey && input.idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
      throw new ParamError('idempotencyKey', `must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
    }
    const { contentImage, styleImages, params } = await this.resolveInput(input, caller);
    // Idempotency keys are per owner: one owner's key never finds another's run.
    const idempotencyKey = input.idempotencyKey && caller.ownerId !== null ? `${caller.ownerId}:${input.idempotencyKey}` : input.idempotencyKey;
    if (caller.ownerId !== null && Number.isFinite(this.maxQueuedRuns)) {
      const page = await this.runs.listRuns({ ownerId: caller.ownerId, status: 'QUEUED', first: 100 });
      const running = await this.runs.listRuns({ ownerId: caller.ownerId, status: 'RUNNING', first: 100 });
      const unfinished = page.runs.length + running.runs.length;
      const existing = idempotencyKey ? page.runs.concat(running.runs).some((run) => run.idempotencyKey === idempotencyKey) : false;
      if (unfinished >= this.maxQueuedRuns && !existing) {
        throw new RateLimitError(
          `this token already has ${unfinished} unfinished runs, the most it may have queued or running at once (${this.maxQueuedRuns}); start more once some finish, or cancel some`,
          30,
          'queuedRuns',
        );
      }
    }
    const { run } = await withApiFields(() => this.runs.startRun({ contentImage, styleImages, params, idempotencyKey, ownerId: caller.ownerId }));
    return run;
  }

  async cancel(id: string, caller: Caller): Promise<RunRecord> {
    const run = (await this.find(id, caller)) ? await this.runs.cancelRun(id) : null;
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /** NotFoundError when there is no such run (or it is another owner's, or another request deleted it first). */
  async delete(id: string, caller: Caller): Promise<true> {
    const run = await this.find(id, caller);
    if (!run || !(await this.runs.deleteRun(id))) throw new NotFoundError('run', id);
    // The deleting owner's claims on the run's images go with it, then images nobody uses or claims.
    if (this.images) await this.images.release([run.contentImage, ...run.styleImages, ...(run.resultImage ? [run.resultImage] : [])], run.ownerId);
    return true;
  }

  /** Newest first, in Relay's connection shape; cursors are opaque (runCursor). */
  async list(options: { status?: RunStatus | null; first?: number | null; after?: string | null }, caller: Caller): Promise<RunConnection> {
    const after = options.after ? runOfCursor(options.after) : null;
    if (options.after && !after) throw new ParamError('after', 'is not a cursor of this list');
    // Another owner's run as a cursor would be an oracle for its existence: it is not a cursor of this list.
    if (after && !caller.admin && !(await this.find(after, caller))) throw new ParamError('after', 'is not a cursor of this list');
    const page = await this.runs.listRuns({ status: options.status, first: options.first ?? undefined, after, ownerId: ownerScope(caller) });
    const edges = page.runs.map((run) => ({ cursor: runCursor(run.id), node: run }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasMore,
        // Paging forward, runs before `after` exist (the cursor's own, at least); from the start, none do.
        hasPreviousPage: after !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** The epochs of the run as it stood at its `eventSeq` (every epoch stored increments it). */
  epochs(run: RunRecord): Promise<EpochRecord[]> {
    return this.epochsAt.get(`${run.id}:${run.eventSeq}`, async () => (await this.runs.listEpochs(run.id)).filter((epoch) => epoch.seq <= run.eventSeq));
  }

  /** Queued runs ahead of this one; null unless it is QUEUED. */
  queuePosition(run: RunRecord): Promise<number | null> {
    return run.status === 'QUEUED' ? this.runs.queuePosition(run.id) : Promise.resolve(null);
  }
}

/** The parameters the input sets. Null means "not given", except for styleBlend, where it means "blend equally". */
function parameterOverrides(input: StartRunInput): PartialParams {
  const overrides: Record<string, unknown> = {};
  for (const field of PARAM_FIELDS) {
    if (input[field] !== undefined && input[field] !== null) overrides[field] = input[field];
  }
  if (input.styleBlend !== undefined) overrides.styleBlend = input.styleBlend;
  // A clone of a fast run made an optimisation leaves its network behind.
  if (input.mode === 'optimize' && overrides.preset === undefined) overrides.preset = null;
  // The learning rate is the optimiser's: naming one without a rate (in a clone too) takes its default.
  if (overrides.optimizer !== undefined && overrides.learningRate === undefined) overrides.learningRate = null;
  return overrides as PartialParams;
}

/** The mode the run will have: the input's, else the cloned run's, else the default. */
function modeOf(input: StartRunInput, base: RunRecord | null): RunMode {
  return input.mode ?? base?.params.mode ?? 'optimize';
}
