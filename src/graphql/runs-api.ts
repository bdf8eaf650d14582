import { ParamError, resolveParams, type TransferParams } from '../engine/params.js';
import type { RunService } from '../runs/run-service.js';
import type { EpochRecord, RunRecord, RunStatus } from '../runs/types.js';
import { NotFoundError } from './errors.js';
import { checkRunLimits, type ApiLimits } from './limits.js';
import type { RunConnection } from './types/run-connection.js';
import type { StartRunInput } from './types/start-run-input.js';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_IDEMPOTENCY_KEY = 200;

/** StartRunInput fields that are run parameters, under the same names. */
const PARAM_FIELDS = [
  'maxDim', 'epochs', 'stepsPerEpoch', 'contentWeight', 'styleWeight', 'totalVariationWeight',
  'learningRate', 'init', 'seed', 'styleScale', 'preserveColors', 'multiscale', 'pooling',
] as const satisfies readonly (keyof StartRunInput & keyof TransferParams)[];

/** The run service's field names -> the API's. */
function apiField(field: string): string {
  return field.replace(/^contentImage$/, 'contentImageId').replace(/^styleImages\b/, 'styleImageIds');
}

/**
 * What the API asks of the run service, in the API's terms: ids that may be
 * malformed, clones with overrides, the server's limits, NOT_FOUND errors and
 * cursor pages.
 */
export class RunsApi {
  constructor(private readonly runs: RunService, private readonly limits: ApiLimits) {}

  /** Null for an unknown or malformed id. */
  find(id: string): Promise<RunRecord | null> {
    return RUN_ID.test(id) ? this.runs.getRun(id) : Promise.resolve(null);
  }

  async get(id: string): Promise<RunRecord> {
    const run = await this.find(id);
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /** Validates everything (writing nothing when refused), then stores and queues the run. */
  async start(input: StartRunInput): Promise<RunRecord> {
    const base = input.cloneOf ? await this.find(input.cloneOf) : null;
    if (input.cloneOf && !base) throw new ParamError('cloneOf', 'no run has this id');
    const contentImage = input.contentImageId ?? base?.contentImage;
    const styleImages = input.styleImageIds ?? base?.styleImages;
    if (!contentImage) throw new ParamError('contentImageId', 'is required unless cloneOf is given');
    if (!styleImages) throw new ParamError('styleImageIds', 'is required unless cloneOf is given');
    if (input.idempotencyKey && input.idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
      throw new ParamError('idempotencyKey', `must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
    }
    const params = resolveParams({ ...base?.params, ...parameterOverrides(input) });
    checkRunLimits(params, this.limits);
    try {
      const { run } = await this.runs.startRun({ contentImage, styleImages, params, idempotencyKey: input.idempotencyKey });
      return run;
    } catch (err) {
      // ParamError's message is "<field>: <reason>"; the reason stays, the field gets its API name.
      if (err instanceof ParamError) throw new ParamError(apiField(err.field), err.message.slice(err.field.length + 2));
      throw err;
    }
  }

  async cancel(id: string): Promise<RunRecord> {
    const run = RUN_ID.test(id) ? await this.runs.cancelRun(id) : null;
    if (!run) throw new NotFoundError('run', id);
    return run;
  }

  /** False when there was no such run. */
  delete(id: string): Promise<boolean> {
    return RUN_ID.test(id) ? this.runs.deleteRun(id) : Promise.resolve(false);
  }

  /** Newest first; the cursor of a run is its id. */
  async list(options: { status?: RunStatus | null; first?: number | null; after?: string | null }): Promise<RunConnection> {
    if (options.after && !RUN_ID.test(options.after)) throw new ParamError('after', 'is not a cursor of this list');
    const page = await this.runs.listRuns({ status: options.status, first: options.first ?? undefined, after: options.after });
    return {
      edges: page.runs.map((run) => ({ cursor: run.id, node: run })),
      pageInfo: { hasNextPage: page.hasMore, endCursor: page.runs.at(-1)?.id ?? null },
    };
  }

  epochs(runId: string): Promise<EpochRecord[]> {
    return this.runs.listEpochs(runId);
  }

  /** Queued runs ahead of this one; null unless it is QUEUED. */
  queuePosition(run: RunRecord): Promise<number | null> {
    return run.status === 'QUEUED' ? this.runs.queuePosition(run.id) : Promise.resolve(null);
  }
}

/** The parameters the input sets. Null means "not given", except for styleBlend, where it means "blend equally". */
function parameterOverrides(input: StartRunInput): Partial<TransferParams> {
  const overrides: Record<string, unknown> = {};
  for (const field of PARAM_FIELDS) {
    if (input[field] !== undefined && input[field] !== null) overrides[field] = input[field];
  }
  if (input.styleBlend !== undefined) overrides.styleBlend = input.styleBlend;
  return overrides as Partial<TransferParams>;
}
