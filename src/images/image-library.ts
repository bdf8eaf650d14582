import { ownerScope, type Caller } from '../auth/caller.js';
import { ImageError, ParamError, decodeImage, probeImage } from '../engine/index.js';
import { isMissingReference } from '../storage/db-errors.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { deleteUnusedImages, findImage, readImageChunks, storeImage, visibleTo, type StoredImage } from '../storage/images.js';
import type { ApiLimits } from '../runs/limits.js';
import { SharedResults } from '../shared-results.js';
import { Gate } from '../gate.js';

const IMAGE_ID = /^[0-9a-f]{64}$/;
/** RFC 2397; its scheme, like every URL scheme, is case-insensitive (RFC 3986). */
const DATA_URL = /^data:([^,]*),(.*)$/is;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Declared types that name what the bytes must be; anything else declared is refused, nothing declared is fine. */
const DECLARED: Record<string, string> = { 'image/png': 'image/png', 'image/jpeg': 'image/jpeg', 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'image/webp': 'image/webp' };
const UNDECLARED = new Set(['', 'application/octet-stream']);
/** Images decoded at once: each may take width * height * 3 bytes (75 MB at the default pixel limit). */
const MAX_CONCURRENT_DECODES = 2;

/** Takes images in (checked against the limits and fully decoded before anything is stored) and finds them. */
export class ImageLibrary {
  private readonly decodes = new Gate(MAX_CONCURRENT_DECODES);
  /** Rows of images runs refer to: they exist while the run does and never change (content-addressed). */
  private readonly referenced = new SharedResults<StoredImage | null>(60_000);

  constructor(private readonly prisma: PrismaClient, private readonly limits: ApiLimits) {}

  /**
   * Whether `caller` may see the image: admins see all; an owner sees what they
   * uploaded and what their runs use or produced. Unknown and malformed ids: false.
   */
  async visible(id: string, caller: Caller): Promise<boolean> {
    if (!IMAGE_ID.test(id)) return false;
    const where = { sha256: id, ...visibleTo(ownerScope(caller)) };
    return (await this.prisma.image.findFirst({ where, select: { sha256: true } })) !== null;
  }

  /** Null for an unknown or malformed id and for an image the caller may not see (its existence is not revealed). */
  async findFor(id: string, caller: Caller): Promise<StoredImage | null> {
    return (await this.visible(id, caller)) ? this.find(id, caller) : null;
  }

  /** Drops `ownerId`'s claims on the images, then deletes those that nothing uses or claims any more. */
  async release(ids: string[], ownerId: string | null): Promise<void> {
    if (ownerId === null || ids.length === 0) return;
    await this.prisma.$transaction(async (tx) => {
      await tx.imageOwner.deleteMany({ where: { ownerId, imageSha256: { in: ids } } });
      await deleteUnusedImages(tx, [...new Set(ids)]);
    });
  }

  /** Null for an unknown or malformed id. As `caller` sees it (asSeenBy), when one is given. */
  async find(id: string, caller?: Caller): Promise<StoredImage | null> {
    const image = IMAGE_ID.test(id) ? await findImage(this.prisma, id) : null;
    return image && caller ? this.asSeenBy(image, caller) : image;
  }

  /**
   * An image a run refers to, as `caller` sees it; `uploaded`: one the caller
   * may have uploaded (content and style), else one the run made (previews,
   * the result), which is its owner's alone.
   */
  async ofRun(id: string, caller: Caller, uploaded: boolean): Promise<StoredImage> {
    const image = (await this.referenced.get(id, () => findImage(this.prisma, id)))!;
    return uploaded ? this.asSeenBy(image, caller) : image;
  }

  /**
   * The image with the time `caller` uploaded it: bytes stored once for
   * everyone must not tell one owner that, and when, another stored them.
   */
  private async asSeenBy(image: StoredImage, caller: Caller): Promise<StoredImage> {
    if (caller.ownerId === null) return image;
    const claim = await this.prisma.imageOwner.findUnique({
      where: { imageSha256_ownerId: { imageSha256: image.sha256, ownerId: caller.ownerId } },
      select: { createdAt: true },
    });
    return claim ? { ...image, createdAt: claim.createdAt } : image;
  }

  /** The stored bytes of an image found before, in chunks (readImageChunks): null once it is deleted meanwhile. */
  chunks(image: StoredImage): AsyncGenerator<Uint8Array | null> {
    return readImageChunks(this.prisma, image.sha256);
  }

  /** A `data:image/...;base64,...` URL; errors name `field`. */
  addDataUrl(dataUrl: string, field: string, caller?: Caller): Promise<StoredImage> {
    const match = DATA_URL.exec(dataUrl);
    if (!match || !match[1].split(';').some((part) => part.trim().toLowerCase() === 'base64')) {
      throw new ParamError(field, 'must be a base64 data URL (data:image/png;base64,...)');
    }
    const declared = checkDeclaredType(match[1].split(';')[0], field);
    const base64 = match[2].replace(/\s+/g, '');
    if (base64.length % 4 !== 0 || !BASE64.test(base64)) throw new ParamError(field, 'is not valid base64');
    // Checked before decoding, so an oversized image is never held in memory twice.
    this.checkSize(base64.length / 4 * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0), field);
    return this.add(Buffer.from(base64, 'base64'), field, declared, caller);
  }

  /** Bytes of an uploaded file (`mimeType`: what the client declared); errors name `field`. */
  addBytes(bytes: Uint8Array, field: string, caller?: Caller, mimeType = ''): Promise<StoredImage> {
    const declared = checkDeclaredType(mimeType, field);
    this.checkSize(bytes.byteLength, field);
    return this.add(bytes, field, declared, caller);
  }

  private checkSize(byteSize: number, field: string): void {
    if (byteSize === 0) throw new ParamError(field, 'is empty');
    if (byteSize > this.limits.maxImageBytes) {
      throw new ParamError(field, `is ${byteSize} bytes; this server accepts images of at most ${this.limits.maxImageBytes} bytes`);
    }
  }

  private async add(bytes: Uint8Array, field: string, declared: string | undefined, caller: Caller | undefined): Promise<StoredImage> {
    const limits = { maxPixels: this.limits.maxImagePixels };
    let info;
    try {
      info = await probeImage(bytes, limits);
      if (declared && declared !== info.mimeType) {
        throw new ParamError(field, `is declared as ${declared} but holds a ${info.format.toUpperCase()} image`);
      }
      // A full decode too: a truncated file must be refused now, not fail a run later.
      await this.decodes.run(() => decodeImage(bytes, limits));
    } catch (err) {
      if (err instanceof ImageError) throw new ParamError(field, err.message);
      throw err;
    }
    const store = async () => {
      const stored = await storeImage(this.prisma, bytes, { mimeType: info.mimeType, width: info.width, height: info.height });
      if (caller?.ownerId) {
        await this.prisma.imageOwner.createMany({ data: [{ imageSha256: stored.sha256, ownerId: caller.ownerId }], skipDuplicates: true });
      }
      return caller ? this.asSeenBy(stored, caller) : stored;
    };
    try {
      return await store();
    } catch (err) {
      // The same bytes, unused, were deleted at that moment (deleteUnusedImages): stored anew.
      if (!isMissingReference(err)) throw err;
      return store();
    }
  }
}

/** The accepted type a declared (data URL or upload) type names; undefined when nothing is declared. */
function checkDeclaredType(raw: string, field: string): string | undefined {
  const type = raw.trim().toLowerCase();
  if (UNDECLARED.has(type)) return undefined;
  const accepted = DECLARED[type];
  if (!accepted) throw new ParamError(field, `is declared as "${raw.slice(0, 100)}"; this server accepts PNG, JPEG or WebP images only`);
  return accepted;
}
