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

/** Bytes read per query when an image is streamed: each query holds PGlite, and so the event loop, for some 50 ms. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

/**
 * The stored bytes in chunks, one query each, so that on the embedded
 * database (which computes on the main thread) other requests are answered
 * between them. Ends early (null) if the image is deleted meanwhile.
 */
export async function* readImageChunks(db: Db, sha256: string, byteSize: number): AsyncGenerator<Uint8Array | null> {
  for (let offset = 0; offset < byteSize; offset += STREAM_CHUNK_BYTES) {
    const [row] = await db.$queryRaw<{ chunk: string }[]>`
      SELECT encode(substring(bytes from ${offset + 1}::int for ${STREAM_CHUNK_BYTES}::int), 'base64') AS chunk FROM images WHERE sha256 = ${sha256}`;
    if (!row) {
      yield null;
      return;
    }
    yield fromBlob(row.chunk);
  }
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

/**
 * Deletes those of `candidates` that are unused (UNUSED_IMAGE); returns how
 * many. The candidates are locked first (FOR UPDATE conflicts with the key
 * share lock a new reference takes), so that a run or claim being created at
 * that moment either commits first, and its image is seen as used, or waits
 * and then finds its image gone (a foreign key error its writer turns into
 * "no stored image has this id"). Without the lock, PostgreSQL's read
 * committed would check "unused" on a snapshot and then delete an image a
 * concurrent run had just started to use. Inside the caller's transaction,
 * which the lock lasts until.
 */
export async function deleteUnusedImages(tx: Prisma.TransactionClient, candidates: string[]): Promise<number> {
  if (candidates.length === 0) return 0;
  // In one order, so that two deletions never wait on each other.
  const sorted = [...new Set(candidates)].sort();
  await tx.$queryRaw`SELECT sha256 FROM images WHERE sha256 = ANY(${sorted}::text[]) ORDER BY sha256 FOR UPDATE`;
  const { count } = await tx.image.deleteMany({ where: { sha256: { in: sorted }, ...UNUSED_IMAGE } });
  return count;
}
