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

  async hasEpochs(runId: string): Promise<boolean> {
    return (await this.prisma.runEpoch.count({ where: { runId } })) > 0;
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
