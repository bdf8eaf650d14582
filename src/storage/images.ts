import { createHash } from 'node:crypto';
import { blob, blobColumn, fromBlob } from './blobs.js';
import type { Prisma, PrismaClient } from './generated/client.js';

/**
 * Content-addressed image store: an image's id is the SHA-256 of its bytes,
 * so the same bytes are stored once however many runs use them.
 */

export interface ImageInfo {
  mimeType: string;
  /** Of one frame, upright. */
  width: number;
  height: number;
}

/** How an image moves: a still image is one frame with no duration. */
export interface FrameInfo {
  frames: number;
  /** The sum of the frame delays; null for a still image. */
  durationMs: number | null;
}

export const STILL: Readonly<FrameInfo> = Object.freeze({ frames: 1, durationMs: null });

export interface StoredImage extends ImageInfo, FrameInfo {
  sha256: string;
  byteSize: number;
  createdAt: Date;
}

/** A stored image as one caller sees it: with the file name it was uploaded under (null when none was given, and for what a run made). */
export interface NamedImage extends StoredImage {
  fileName: string | null;
}

type Db = PrismaClient | Prisma.TransactionClient;

const INFO_COLUMNS = { sha256: true, mimeType: true, width: true, height: true, frames: true, durationMs: true, byteSize: true, createdAt: true } as const;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The size of an image's pieces (image_chunks): a statement moving one holds PGlite, and so the event loop, for some 50 ms. */
const CHUNK_BYTES = 1024 * 1024;

/** A large image's pieces take PGlite about 0.1 s a MiB to write. */
const STORE_TRANSACTION_TIMEOUT_MS = 60_000;

/** Stores the bytes unless they are stored already; either way returns the stored image. In a transaction of its own. Without frames: a still image. */
export async function storeImage(prisma: PrismaClient, bytes: Uint8Array, info: ImageInfo & Partial<FrameInfo>): Promise<StoredImage> {
  // Sending the bytes only when they are new.
  const existing = await prisma.image.findUnique({ where: { sha256: sha256Hex(bytes) }, select: INFO_COLUMNS });
  if (existing) return existing;
  return prisma.$transaction((tx) => storeImageIn(tx, bytes, info), { timeout: STORE_TRANSACTION_TIMEOUT_MS });
}

/**
 * storeImage inside the caller's transaction: the row and its pieces are
 * committed together (an image is never seen half written), one piece a
 * statement.
 */
export async function storeImageIn(tx: Prisma.TransactionClient, bytes: Uint8Array, info: ImageInfo & Partial<FrameInfo>): Promise<StoredImage> {
  const sha256 = sha256Hex(bytes);
  const { frames, durationMs } = { ...STILL, ...info };
  // ON CONFLICT DO NOTHING: a concurrent writer of the same bytes is no error (this one waits for it, then writes nothing).
  const inserted = await tx.$executeRaw`
    INSERT INTO images (sha256, "mimeType", width, height, frames, "durationMs", "byteSize")
    VALUES (${sha256}, ${info.mimeType}, ${info.width}, ${info.height}, ${frames}, ${durationMs}, ${bytes.byteLength})
    ON CONFLICT (sha256) DO NOTHING`;
  for (let offset = 0, position = 0; inserted === 1 && offset < bytes.byteLength; offset += CHUNK_BYTES, position++) {
    await tx.$executeRaw`
      INSERT INTO image_chunks ("imageSha256", position, data) VALUES (${sha256}, ${position}, ${blob(bytes.subarray(offset, offset + CHUNK_BYTES))})`;
  }
  return tx.image.findUniqueOrThrow({ where: { sha256 }, select: INFO_COLUMNS });
}

export function findImage(db: Db, sha256: string): Promise<StoredImage | null> {
  return db.image.findUnique({ where: { sha256 }, select: INFO_COLUMNS });
}

/** The whole image at once (what the engine decodes); null when there is no such image. */
export async function readImageBytes(db: Db, sha256: string): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readImageChunks(db, sha256)) {
    if (chunk === null) return null;
    chunks.push(chunk);
  }
  return chunks.length > 0 ? new Uint8Array(Buffer.concat(chunks)) : null;
}

/**
 * The stored bytes piece by piece, one query each, so that on the embedded
 * database other requests are answered between them. Ends early (null) if
 * the image is deleted meanwhile, or was never stored.
 */
export async function* readImageChunks(db: Db, sha256: string): AsyncGenerator<Uint8Array | null> {
  for (let position = 0; ; position++) {
    const [row] = await db.$queryRaw<{ data: string; last: boolean }[]>`
      SELECT ${blobColumn('data')} AS data, position = (SELECT max(position) FROM image_chunks WHERE "imageSha256" = ${sha256}) AS last
      FROM image_chunks WHERE "imageSha256" = ${sha256} AND position = ${position}`;
    if (!row) {
      yield null;
      return;
    }
    yield fromBlob(row.data);
    if (row.last) return;
  }
}

/**
 * Images an owner may see and use: those they uploaded and those their runs
 * use or produced. Undefined owner: every image (admins, auth off).
 */
export function visibleTo(ownerId: string | undefined): Prisma.ImageWhereInput {
  return ownerId === undefined ? {} : {
    OR: [
      { owners: { some: { ownerId } } },
      { runsAsContent: { some: { ownerId } } },
      { runsAsResult: { some: { ownerId } } },
      { stylesOf: { some: { run: { ownerId } } } },
      { previewOf: { some: { run: { ownerId } } } },
    ],
  };
}

/** Images that no run, style, result or epoch preview uses and no owner claims: those that may be deleted. */
export const UNUSED_IMAGE = {
  runsAsContent: { none: {} },
  runsAsResult: { none: {} },
  stylesOf: { none: {} },
  previewOf: { none: {} },
  frameOf: { none: {} },
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
