import { isFastMode, ParamError, type PartialParams, type RunMode, type TransferParams } from '../engine/index.js';
import { ownerScope, type Caller } from '../auth/caller.js';
import type { RunEstimate, RunService } from '../runs/run-service.js';
import type { EpochRecord, FrameRecord, RunRecord, RunStatus, StartRunInput as RunServiceInput } from '../runs/types.js';
import { NotFoundError } from './errors.js';
import type { ImageLibrary } from '../images/image-library.js';
import { SharedResults } from '../shared-results.js';
import type { RunConnection } from './types/run-connection.js';
import type { StartRunInput } from './types/start-run-input.js';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  'optimizer', 'learningRate', 'lbfgsHistory', 'init', 'seed', 'styleScale', 'preserveColors', 'multiscale', 'pooling', 'mode', 'preset', 'temporalWeight',
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
 * malformed, clones with overrides, the API's field names, NOT_FOUND errors
 * and cursor pages. The rules a run is checked against live in the run service.
 */
export class RunsApi {
  /** A run's epochs at one event sequence number: read once for every subscriber and alias that asks. */
  private readonly epochsAt = new SharedResults<EpochRecord[]>(5_000);
  /** A run's latest epoch at one event sequence number, likewise. */
  private readonly latestEpochAt = new SharedResults<EpochRecord | null>(5_000);

  /** A run's frames at one event sequence number, likewise. */
  private readonly framesAt = new SharedResults<FrameRecord[]>(5_000);

  /** `runs` holds the runs it starts to this server's rules (RunService.withRules). */
  constructor(private readonly runs: RunService, private readonly images?: ImageLibrary) {}

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

  /** Stores and queues the run the input asks for, owned by the caller (the run service checks it, writing nothing when refused). */
  async start(input: StartRunInput, caller: Caller): Promise<RunRecord> {
    const request = await this.runRequest(input, caller);
    const { run } = await withApiFields(() => this.runs.startRun({ ...request, idempotencyKey: input.idempotencyKey }));
    return run;
  }

  /** What startRun would take (time, memory, whether it fits), checked as startRun checks it; writes nothing. */
  async estimate(input: StartRunInput, caller: Caller): Promise<RunEstimate> {
    return withApiFields(async () => this.runs.estimateRun(await this.runRequest(input, caller)));
  }

  /** The run the input asks for, in the run service's terms: a clone's images and parameters filled in. */
  private async runRequest(input: StartRunInput, caller: Caller): Promise<RunServiceInput> {
    const base = input.cloneOf ? await this.find(input.cloneOf, caller) : null;
    if (input.cloneOf && !base) throw new ParamError('cloneOf', 'no run has this id');
    const contentImage = input.contentImageId ?? base?.contentImage;
    // In the fast modes the style is the network's painting: the run service adds it.
    const styleImages = input.styleImageIds ?? (isFastMode(modeOf(input, base)) ? [] : base?.styleImages);
    if (!contentImage) throw new ParamError('contentImageId', 'is required unless cloneOf is given');
    if (!styleImages) throw new ParamError('styleImageIds', 'is required unless cloneOf is given or mode is FAST or FAST_THEN_OPTIMIZE');
    const params = { ...base?.params, ...parameterOverrides(input) };
    return { contentImage, styleImages, params, ownerId: caller.ownerId, imageScope: ownerScope(caller) };
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

  /** The painted frames of the run as it stood at its `eventSeq` (every frame stored increments it). */
  frames(run: RunRecord): Promise<FrameRecord[]> {
    if (run.totalFrames === 1) return Promise.resolve([]);
    return this.framesAt.get(`${run.id}:${run.eventSeq}`, async () => (await this.runs.listFrames(run.id)).filter((frame) => frame.seq <= run.eventSeq));
  }

  /** The last epoch of the run as it stood at its `eventSeq`: one row, for lists of runs. */
  latestEpoch(run: RunRecord): Promise<EpochRecord | null> {
    return this.latestEpochAt.get(`${run.id}:${run.eventSeq}`, () => this.runs.latestEpoch(run.id, run.eventSeq));
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
