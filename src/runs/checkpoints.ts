/**
 * A run's checkpoint in the database: one row (the image, the optimiser and
 * its state), and for L-BFGS its curvature pairs, one row each, written once
 * and removed when they leave the history: a checkpoint then writes what
 * the steps since the last one made, not the whole history again (at 256 px
 * with 60 pairs that is 1.2 MB a step against 70 MB an epoch).
 */
import type { Checkpoint, OptimizerName, OptimizerState } from '../engine/index.js';
import { blob, blobColumn, fromBlob } from '../storage/blobs.js';
import { Prisma, type PrismaClient } from '../storage/generated/client.js';

type Db = PrismaClient | Prisma.TransactionClient;

// Float32 in the platform's byte order (little-endian wherever Node and TensorFlow.js run).
function floatBytes(arrays: Float32Array[]): Uint8Array {
  const bytes = new Uint8Array(arrays.reduce((sum, array) => sum + array.byteLength, 0));
  let offset = 0;
  for (const array of arrays) {
    bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
    offset += array.byteLength;
  }
  return bytes;
}

/** The arrays of `length` floats each that `floatBytes` wrote. */
function floatArrays(bytes: Uint8Array, length: number): Float32Array[] {
  const arrays: Float32Array[] = [];
  // Copies: Float32Array needs 4-byte alignment, which the driver's buffer need not have.
  for (let offset = 0; offset < bytes.byteLength; offset += length * 4) {
    arrays.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + length * 4)));
  }
  return arrays;
}

/** What the checkpoint row keeps of an optimiser's state (L-BFGS's pairs have rows of their own). */
function rowState(state: OptimizerState): Float32Array[] {
  if (state.kind === 'adam') return [state.m, state.v];
  return state.previousImage && state.previousGradient ? [state.previousImage, state.previousGradient] : [];
}

/** Replaces the run's checkpoint, which belongs to `epoch` (the last epoch stored); inside the caller's transaction. */
export async function storeCheckpoint(tx: Prisma.TransactionClient, runId: string, epoch: number, checkpoint: Checkpoint): Promise<void> {
  const { step, scale, width, height, optimizer } = checkpoint;
  await tx.$executeRaw`
    INSERT INTO run_checkpoints ("runId", epoch, step, scale, width, height, image, optimizer, state, "updatedAt")
    VALUES (${runId}::uuid, ${epoch}, ${step}, ${scale}, ${width}, ${height}, ${blob(floatBytes([checkpoint.image]))},
      ${optimizer.kind}, ${blob(floatBytes(rowState(optimizer)))}, now())
    ON CONFLICT ("runId") DO UPDATE SET epoch = EXCLUDED.epoch, step = EXCLUDED.step, scale = EXCLUDED.scale, width = EXCLUDED.width,
      height = EXCLUDED.height, image = EXCLUDED.image, optimizer = EXCLUDED.optimizer, state = EXCLUDED.state, "updatedAt" = now()`;
  const pairSteps = optimizer.kind === 'lbfgs' ? optimizer.pairSteps : [];
  // Pairs no longer in the history (dropped, or of an earlier image size) go; new ones are added.
  await tx.$executeRaw`DELETE FROM run_lbfgs_pairs WHERE "runId" = ${runId}::uuid AND NOT (step = ANY(${pairSteps}::int[]))`;
  if (optimizer.kind !== 'lbfgs') return;
  const stored = new Set((await tx.runLbfgsPair.findMany({ where: { runId }, select: { step: true } })).map((pair) => pair.step));
  for (const [i, pairStep] of optimizer.pairSteps.entries()) {
    if (stored.has(pairStep)) continue;
    await tx.$executeRaw`
      INSERT INTO run_lbfgs_pairs ("runId", step, s, y)
      VALUES (${runId}::uuid, ${pairStep}, ${blob(floatBytes([optimizer.s[i]]))}, ${blob(floatBytes([optimizer.y[i]]))})`;
  }
}

/** Drops the run's checkpoint and pairs: a run in a final status never resumes (inside the caller's transaction). */
export async function dropCheckpoint(tx: Prisma.TransactionClient, runId: string): Promise<void> {
  await tx.runLbfgsPair.deleteMany({ where: { runId } });
  await tx.runCheckpoint.deleteMany({ where: { runId } });
}

export interface StoredCheckpointRow {
  epoch: number;
  checkpoint: Checkpoint;
}

/** The run's checkpoint, or null. */
export async function readCheckpoint(db: Db, runId: string): Promise<StoredCheckpointRow | null> {
  const [row] = await db.$queryRaw<{ epoch: number; step: number; scale: number; width: number; height: number; optimizer: string; image: string; state: string }[]>`
    SELECT epoch, step, scale, width, height, optimizer, ${blobColumn('image')} AS image, ${blobColumn('state')} AS state
    FROM run_checkpoints WHERE "runId" = ${runId}::uuid`;
  if (!row) return null;
  const length = row.width * row.height * 3;
  const [image] = floatArrays(fromBlob(row.image), length);
  const arrays = floatArrays(fromBlob(row.state), length);
  let optimizer: OptimizerState;
  if ((row.optimizer as OptimizerName) === 'adam') {
    optimizer = { kind: 'adam', m: arrays[0], v: arrays[1] };
  } else {
    const pairs = await db.$queryRaw<{ step: number; s: string; y: string }[]>`
      SELECT step, ${blobColumn('s')} AS s, ${blobColumn('y')} AS y FROM run_lbfgs_pairs WHERE "runId" = ${runId}::uuid ORDER BY step`;
    optimizer = {
      kind: 'lbfgs',
      previousImage: arrays[0] ?? null,
      previousGradient: arrays[1] ?? null,
      s: pairs.map((pair) => floatArrays(fromBlob(pair.s), length)[0]),
      y: pairs.map((pair) => floatArrays(fromBlob(pair.y), length)[0]),
      pairSteps: pairs.map((pair) => pair.step),
    };
  }
  return { epoch: row.epoch, checkpoint: { step: row.step, scale: row.scale, width: row.width, height: row.height, image, optimizer } };
}
