import type { ImageSize } from '../engine/index.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { readImageBytes } from '../storage/images.js';
import { RUN_INCLUDE, toRunRecord } from './records.js';
import type { RunRecord } from './types.js';

/**
 * What a worker reads of runs, beside the writes of RunLifecycle and the
 * leases of RunLeases, so that the worker itself never queries the database.
 * (The API's reads are RunService's.) Callers that must ride out a lost
 * connection wrap these in retryTransient.
 */
export class RunRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The run with the id of the job it was last given to (jobs only say "look at this run"); null when there is no such run. */
  async findWithJob(runId: string): Promise<{ run: RunRecord; jobId: string } | null> {
    const row = await this.prisma.run.findUnique({ where: { id: runId }, include: RUN_INCLUDE });
    return row && { run: toRunRecord(row), jobId: row.jobId };
  }


  /** The encoded files of the run's content and style images. */
  async inputImages(run: RunRecord): Promise<{ content: Uint8Array; styles: Uint8Array[] }> {
    // Images used by a run cannot be deleted while it exists (foreign keys), so these are found.
    const [content, ...styles] = await Promise.all(
      [run.contentImage, ...run.styleImages].map(async (sha256) => (await readImageBytes(this.prisma, sha256))!),
    );
    return { content, styles };
  }

  /** The stored sizes of the run's content and style images. */
  async inputSizes(run: RunRecord): Promise<{ content: ImageSize; styles: ImageSize[] }> {
    const images = await this.prisma.image.findMany({ where: { sha256: { in: [run.contentImage, ...run.styleImages] } }, select: { sha256: true, width: true, height: true } });
    const size = new Map(images.map((image) => [image.sha256, image]));
    return { content: size.get(run.contentImage)!, styles: run.styleImages.map((id) => size.get(id)!) };
  }

  /** The images of the frames stored of a run over an animation, in order: where it stands, and what its result is joined from. */
  async paintedFrames(runId: string): Promise<string[]> {
    const rows = await this.prisma.runFrame.findMany({ where: { runId }, orderBy: { frame: 'asc' }, select: { imageSha256: true } });
    return rows.map((row) => row.imageSha256);
  }

  /** The encoded bytes of stored images (a run's painted frames), in the order asked. */
  async imageBytes(sha256s: string[]): Promise<Uint8Array[]> {
    const bytes: Uint8Array[] = [];
    // One after the other: each is read in pieces, and an animation's frames are many.
    for (const sha256 of sha256s) bytes.push((await readImageBytes(this.prisma, sha256))!);
    return bytes;
  }

  async hasEpochs(runId: string): Promise<boolean> {
    return (await this.prisma.runEpoch.count({ where: { runId } })) > 0;
  }

  /** The run's painting time at the end of an epoch (0: before the first); the epoch is stored. */
  async epochElapsedMs(runId: string, epoch: number): Promise<number> {
    if (epoch === 0) return 0;
    const row = await this.prisma.runEpoch.findUniqueOrThrow({ where: { runId_epoch: { runId, epoch } }, select: { elapsedMs: true } });
    return row.elapsedMs;
  }

  /** The image stored with an epoch; null when the epoch is not stored, or retention dropped its preview. */
  async epochPreview(runId: string, epoch: number): Promise<string | null> {
    const row = await this.prisma.runEpoch.findUnique({
      where: { runId_epoch: { runId, epoch } },
      select: { previewSha256: true },
    });
    return row?.previewSha256 ?? null;
  }
}
