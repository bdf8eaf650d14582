import { decodeImage, ImageError, probeImage } from '../engine/image.js';
import { ParamError } from '../engine/params.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { findImage, readImageBytes, storeImage, type StoredImage } from '../storage/images.js';
import type { ApiLimits } from './limits.js';

const IMAGE_ID = /^[0-9a-f]{64}$/;
const DATA_URL = /^data:([^,]*),(.*)$/s;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Takes images in (checked against the limits and fully decoded before anything is stored) and finds them. */
export class ImageLibrary {
  constructor(private readonly prisma: PrismaClient, private readonly limits: ApiLimits) {}

  /** Null for an unknown or malformed id. */
  find(id: string): Promise<StoredImage | null> {
    return IMAGE_ID.test(id) ? findImage(this.prisma, id) : Promise.resolve(null);
  }

  /** The stored bytes; null for an unknown or malformed id. */
  bytes(id: string): Promise<Uint8Array | null> {
    return IMAGE_ID.test(id) ? readImageBytes(this.prisma, id) : Promise.resolve(null);
  }

  /** A `data:image/...;base64,...` URL; errors name `field`. */
  addDataUrl(dataUrl: string, field: string): Promise<StoredImage> {
    const match = DATA_URL.exec(dataUrl);
    if (!match || !match[1].split(';').includes('base64')) {
      throw new ParamError(field, 'must be a base64 data URL (data:image/png;base64,...)');
    }
    const base64 = match[2].replace(/\s+/g, '');
    if (base64.length % 4 !== 0 || !BASE64.test(base64)) throw new ParamError(field, 'is not valid base64');
    // Checked before decoding, so an oversized image is never held in memory twice.
    this.checkSize(base64.length / 4 * 3 - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0), field);
    return this.add(Buffer.from(base64, 'base64'), field);
  }

  /** Bytes of an uploaded file; errors name `field`. */
  addBytes(bytes: Uint8Array, field: string): Promise<StoredImage> {
    this.checkSize(bytes.byteLength, field);
    return this.add(bytes, field);
  }

  private checkSize(byteSize: number, field: string): void {
    if (byteSize === 0) throw new ParamError(field, 'is empty');
    if (byteSize > this.limits.maxImageBytes) {
      throw new ParamError(field, `is ${byteSize} bytes; this server accepts images of at most ${this.limits.maxImageBytes} bytes`);
    }
  }

  private async add(bytes: Uint8Array, field: string): Promise<StoredImage> {
    const limits = { maxPixels: this.limits.maxImagePixels };
    let info;
    try {
      info = await probeImage(bytes, limits);
      // A full decode too: a truncated file must be refused now, not fail a run later.
      await decodeImage(bytes, limits);
    } catch (err) {
      if (err instanceof ImageError) throw new ParamError(field, err.message);
      throw err;
    }
    return storeImage(this.prisma, bytes, { mimeType: info.mimeType, width: info.width, height: info.height });
  }
}
