import { DEFAULT_PARAMS, type LayerLosses, type Losses, type TransferParams } from '../engine/index.js';
import type { Prisma } from '../storage/generated/client.js';
import type { EpochRecord, FrameRecord, RunRecord } from './types.js';

/** What to read with a run so it can be turned into a RunRecord. */
export const RUN_INCLUDE = {
  styles: { select: { imageSha256: true }, orderBy: { position: 'asc' } },
} as const satisfies Prisma.RunInclude;

type RunRow = Prisma.RunGetPayload<{ include: typeof RUN_INCLUDE }>;
type EpochRow = Prisma.RunEpochGetPayload<object>;
type FrameRow = Prisma.RunFrameGetPayload<object>;

export function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    idempotencyKey: row.idempotencyKey,
    status: row.status,
    // Runs stored before modes and optimisers existed were Adam optimisations.
    params: { mode: 'optimize', preset: null, optimizer: 'adam', lbfgsHistory: DEFAULT_PARAMS.lbfgsHistory, temporalWeight: DEFAULT_PARAMS.temporalWeight, ...(row.params as object) } as TransferParams,
    seed: row.seed,
    contentImage: row.contentSha256,
    styleImages: row.styles.map((s) => s.imageSha256),
    backend: row.backend,
    device: row.device,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
    currentEpoch: row.currentEpoch,
    totalFrames: row.totalFrames,
    currentFrame: row.currentFrame,
    resultImage: row.resultSha256,
    flicker: row.flicker,
    eventSeq: row.eventSeq,
  };
}

function lossesOf(row: EpochRow | FrameRow): Losses {
  return { total: row.totalLoss, content: row.contentLoss, style: row.styleLoss, totalVariation: row.totalVariationLoss, temporal: row.temporalLoss };
}

export function toEpochRecord(row: EpochRow): EpochRecord {
  return {
    runId: row.runId,
    epoch: row.epoch,
    step: row.step,
    losses: lossesOf(row),
    layers: row.layerLosses as unknown as LayerLosses,
    elapsedMs: row.elapsedMs,
    previewImage: row.previewSha256,
    seq: row.eventSeq,
    createdAt: row.createdAt,
  };
}

export function toFrameRecord(row: FrameRow): FrameRecord {
  return {
    runId: row.runId,
    frame: row.frame,
    losses: lossesOf(row),
    elapsedMs: row.elapsedMs,
    delayMs: row.delayMs,
    image: row.imageSha256,
    seq: row.eventSeq,
    createdAt: row.createdAt,
  };
}
