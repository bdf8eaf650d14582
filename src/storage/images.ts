import { createHash } from 'node:crypto';
import { blob, blobColumn, fromBlob } from './blobs.js';
import type { Prisma, PrismaClient } from './generated/client.js';

/**
 * Content-addressed image store: an image's id is the SHA-256 of its bytes,
 * so the same bytes are stored once however many runs use them.
 */

export interface ImageInfo {
  mimeType: string;
  width: number;
  height: number;
}

export interface StoredImage extends ImageInfo {
  sha256: string;
  byteSize: number;
  createdAt: Date;
}

type Db = PrismaClient | Prisma.TransactionClient;

const INFO_COLUMNS = { sha256: true, mimeType: true, width: true, height: true, byteSize: true, createdAt: true } as const;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Stores the bytes unless they are stored already; either way returns the stored image. */
export async function storeImage(db: Db, bytes: Uint8Array, info: ImageInfo): Promise<StoredImage> {
  const sha256 = sha256Hex(bytes);
  // Sending the bytes only when they are new.
  const existing = await db.image.findUnique({ where: { sha256 }, select: INFO_COLUMNS });
  if (existing) return existing;
  // ON CONFLICT DO NOTHING: a concurrent writer of the same bytes is no error.
  await db.$executeRaw`
    INSERT INTO images (sha256, "mimeType", width, height, "byteSize", bytes)
    VALUES (${sha256}, ${info.mimeType}, ${info.width}, ${info.height}, ${bytes.byteLength}, ${blob(bytes)})
    ON CONFLICT (sha256) DO NOTHING`;
  return db.image.findUniqueOrThrow({ where: { sha256 }, select: INFO_COLUMNS });
}

export function findImage(db: Db, sha256: string): Promise<StoredImage | null> {
  return db.image.findUnique({ where: { sha256 }, select: INFO_COLUMNS });
}

export async function readImageBytes(db: Db, sha256: string): Promise<Uint8Array | null> {
  const [row] = await db.$queryRaw<{ bytes: string }[]>`SELECT ${blobColumn('bytes')} AS bytes FROM images WHERE sha256 = ${sha256}`;
  return row ? fromBlob(row.bytes) : null;
}

/** Images that no run, style, result or epoch preview uses and no owner claims: those that may be deleted. */
export const UNUSED_IMAGE = {
  runsAsContent: { none: {} },
  runsAsResult: { none: {} },
  stylesOf: { none: {} },
  previewOf: { none: {} },
  // Uploaded by an owner who has not let go of it (RunsApi.delete releases the deleting owner's claims).
  owners: { none: {} },
} satisfies Prisma.ImageWhereInput;

/** Deletes those of `candidates` that are unused (UNUSED_IMAGE); returns how many. */
export async function deleteUnusedImages(db: Db, candidates: string[]): Promise<number> {
  if (candidates.length === 0) return 0;
  const { count } = await db.image.deleteMany({ where: { sha256: { in: candidates }, ...UNUSED_IMAGE } });
  return count;
}
