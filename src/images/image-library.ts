import { ownerScope, type Caller } from '../auth/caller.js';
import { ImageError, ParamError, decodeImage, probeImage } from '../engine/index.js';
import { isMissingReference } from '../storage/db-errors.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { deleteUnusedImages, findImage, readImageChunks, STILL, storeImage, visibleTo, type FrameInfo, type ImageInfo, type NamedImage, type StoredImage } from '../storage/images.js';
import type { ApiLimits } from '../runs/limits.js';
import { SharedResults } from '../shared-results.js';
import { Gate } from '../gate.js';
import { checkDeclaredType, type MovingImages } from './moving-images.js';

const IMAGE_ID = /^[0-9a-f]{64}$/;
/** RFC 2397; its scheme, like every URL scheme, is case-insensitive (RFC 3986). */
const DATA_URL = /^data:([^,]*),(.*)$/is;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Images decoded at once: each may take width * height * 3 bytes (75 MB at the default pixel limit); an animation's frames pass through, none is kept. */
const MAX_CONCURRENT_DECODES = 2;
/** The longest file name kept, in characters (code points): what common file systems allow. */
export const MAX_FILE_NAME_LENGTH = 255;
/** Control characters (C0, DEL, C1) and unpaired UTF-16 surrogates: never part of a name to show. */
/**
 * Control characters, broken surrogates, and the invisible format characters
 * (bidirectional overrides such as U+202E, zero-width ones) that would make a
 * shown name read as another.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\p{Cf}]/u;

/** The file name a client gave an image (none: undefined or null), and the field its errors name. */
export interface GivenFileName {
  value: string | null | undefined;
  field: string;
}

/** Takes images in (checked against the limits, animations too, and fully decoded before anything is stored) and finds them. */
export class ImageLibrary {
  private readonly decodes = new Gate(MAX_CONCURRENT_DECODES);
  /** Rows of images runs refer to: they exist while the run does and never change (content-addressed). */
  private readonly referenced = new SharedResults<StoredImage | null>(60_000);

  constructor(private readonly prisma: PrismaClient, private readonly limits: ApiLimits, private readonly moving: MovingImages) {}

  /**
   * Whether `caller` may see the image: admins see all; an owner sees what they
   * uploaded and what their runs use or produced. Unknown and malformed ids: false.
   */
  async visible(id: string, caller: Caller): Promise<boolean> {
    if (!IMAGE_ID.test(id)) return false;
    const where = { sha256: id, ...visibleTo(ownerScope(caller)) };
    return (await this.prisma.image.findFirst({ where, select: { sha256: true } })) !== null;
  }

  /** Null for an unknown or malformed id and for an image the caller may not see (its existence is not revealed). As `caller` sees it (asSeenBy). */
  async findFor(id: string, caller: Caller): Promise<NamedImage | null> {
    const image = (await this.visible(id, caller)) ? await findImage(this.prisma, id) : null;
    return image && this.asSeenBy(image, caller);
  }

  /** Drops `ownerId`'s claims on the images, then deletes those that nothing uses or claims any more. */
  async release(ids: string[], ownerId: string | null): Promise<void> {
    if (ownerId === null || ids.length === 0) return;
    await this.prisma.$transaction(async (tx) => {
      await tx.imageOwner.deleteMany({ where: { ownerId, imageSha256: { in: ids } } });
      await deleteUnusedImages(tx, [...new Set(ids)]);
    });
  }

  /**
   * An image a run refers to, as `caller` sees it; `uploaded`: one the caller
   * may have uploaded (content and style), else one the run made (previews,
   * the result), which is its owner's alone and has no file name.
   */
  async ofRun(id: string, caller: Caller, uploaded: boolean): Promise<NamedImage> {
    const image = (await this.referenced.get(id, () => findImage(this.prisma, id)))!;
    return uploaded ? this.asSeenBy(image, caller) : { ...image, fileName: null };
  }

  /**
   * The image with the time `caller` uploaded it and the name they gave it:
   * bytes stored once for everyone must not tell one owner that, when, or
   * under what name another stored them. An owner without a claim (the image
   * is theirs through a run) sees no name. Read on each call, not cached: a
   * later upload of the same bytes may rename it.
   */
  private async asSeenBy(image: StoredImage, caller: Caller): Promise<NamedImage> {
    if (caller.ownerId === null) {
      const row = await this.prisma.image.findUnique({ where: { sha256: image.sha256 }, select: { fileName: true } });
      return { ...image, fileName: row?.fileName ?? null };
    }
    const claim = await this.prisma.imageOwner.findUnique({
      where: { imageSha256_ownerId: { imageSha256: image.sha256, ownerId: caller.ownerId } },
      select: { createdAt: true, fileName: true },
    });
    return claim ? { ...image, ...claim } : { ...image, fileName: null };
  }

  /** The stored bytes of an image found before, in chunks (readImageChunks): null once it is deleted meanwhile. */
  chunks(image: StoredImage): AsyncGenerator<Uint8Array | null> {
    return readImageChunks(this.prisma, image.sha256);
  }

  /** A `data:image/...;base64,...` URL; errors name `field` (those of its file name, the name's). */
  addDataUrl(dataUrl: string, field: string, caller: Caller, fileName: GivenFileName): Promise<NamedImage> {
    const name = keptFileName(fileName);
    const match = DATA_URL.exec(dataUrl);
    if (!match || !match[1].split(';').some((part) => part.trim().toLowerCase() === 'base64')) {
      throw new ParamError(field, 'must be a base64 data URL (data:image/png;base64,...)');
    }
    const declared = checkDeclaredType(match[1].split(';')[0], field);
    const base64 = match[2].replace(/\s+/g, '');
    if (base64.length % 4 !== 0 || !BASE64.test(base64)) throw new ParamError(field, 'is not valid base64');
    // Checked before decoding, so an oversized image is never held in memory twice.
    this.checkSize(base64.length / 4 * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0), field);
    return this.add(Buffer.from(base64, 'base64'), field, declared, caller, name);
  }

  /** Bytes of an uploaded file (`mimeType`: what the client declared); errors name `field` (those of its file name, the name's). */
  addBytes(bytes: Uint8Array, field: string, caller: Caller, mimeType: string, fileName: GivenFileName): Promise<NamedImage> {
    const name = keptFileName(fileName);
    const declared = checkDeclaredType(mimeType, field);
    this.checkSize(bytes.byteLength, field);
    return this.add(bytes, field, declared, caller, name);
  }

  private checkSize(byteSize: number, field: string): void {
    if (byteSize === 0) throw new ParamError(field, 'is empty');
    if (byteSize > this.limits.maxImageBytes) {
      throw new ParamError(field, `is ${byteSize} bytes; this server accepts images of at most ${this.limits.maxImageBytes} bytes`);
    }
  }

  private async add(bytes: Uint8Array, field: string, declared: string | undefined, caller: Caller, fileName: string | null): Promise<NamedImage> {
    const limits = { maxPixels: this.limits.maxImagePixels };
    let info: ImageInfo & FrameInfo;
    try {
      const moving = await this.moving.probe(bytes, field, this.limits);
      info = moving ?? { ...await probeImage(bytes, limits), ...STILL };
      if (declared && declared !== info.mimeType) {
        throw new ParamError(field, `is declared as ${declared} but holds ${info.mimeType}`);
      }
      // A full decode too: a truncated file must be refused now, not fail a run later; a video's frames are counted so.
      await this.decodes.run(async () => {
        if (moving) info = { ...info, ...await this.moving.decode(bytes, moving, field, this.limits) };
        else await decodeImage(bytes, limits);
      });
    } catch (err) {
      if (err instanceof ImageError) throw new ParamError(field, err.message);
      throw err;
    }
    const store = async () => {
      const stored = await storeImage(this.prisma, bytes, { mimeType: info.mimeType, width: info.width, height: info.height, frames: info.frames, durationMs: info.durationMs });
      await this.recordUpload(stored.sha256, caller, fileName);
      return this.asSeenBy(stored, caller);
    };
    try {
      return await store();
    } catch (err) {
      // The same bytes, unused, were deleted at that moment (deleteUnusedImages): stored anew.
      if (!isMissingReference(err)) throw err;
      return store();
    }
  }

  /**
   * Records that `caller` uploaded the image, named `fileName`: on their claim,
   * or on the image when they have no owner (auth off). The latest upload's
   * name wins (uploading the same bytes again under a new name renames them);
   * an upload without a name keeps the one there.
   */
  private async recordUpload(sha256: string, caller: Caller, fileName: string | null): Promise<void> {
    if (caller.ownerId === null) {
      if (fileName !== null) await this.prisma.image.updateMany({ where: { sha256 }, data: { fileName } });
      return;
    }
    const claim = { imageSha256: sha256, ownerId: caller.ownerId };
    // ON CONFLICT DO NOTHING, then the rename: concurrent uploads of the same bytes by one owner are no error.
    const { count } = await this.prisma.imageOwner.createMany({ data: [{ ...claim, fileName }], skipDuplicates: true });
    if (count === 0 && fileName !== null) await this.prisma.imageOwner.updateMany({ where: claim, data: { fileName } });
  }
}

/**
 * The name to keep of the one a client gave: its last path segment (browsers
 * send only that; curl may send a path, with `/` or, from Windows, `\`), in
 * NFC (macOS sends decomposed names). No name (null) when none is left, or
 * only blanks, `.` or `..`. Refused, naming the given field: over
 * MAX_FILE_NAME_LENGTH characters, or holding a control character or an
 * unpaired surrogate.
 */
function keptFileName({ value, field }: GivenFileName): string | null {
  // A name far over the limit is refused before any work on it (each character is at most 2 UTF-16 units).
  if (value && value.length > 2 * MAX_FILE_NAME_LENGTH + 4096) {
    throw new ParamError(field, `the file name is over ${MAX_FILE_NAME_LENGTH} characters long; this server keeps names of at most ${MAX_FILE_NAME_LENGTH}`);
  }
  const name = value?.slice(Math.max(value.lastIndexOf('/'), value.lastIndexOf('\\')) + 1).normalize('NFC').trim() ?? '';
  if (name === '' || name === '.' || name === '..') return null;
  const length = [...name].length;
  if (length > MAX_FILE_NAME_LENGTH) {
    throw new ParamError(field, `the file name is ${length} characters long; this server keeps names of at most ${MAX_FILE_NAME_LENGTH}`);
  }
  const unprintable = UNPRINTABLE.exec(name)?.[0];
  if (unprintable !== undefined) {
    const code = unprintable.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new ParamError(field, `the file name holds U+${code}, which is not printable; names must be printable text`);
  }
  return name;
}
