/**
 * Image I/O for the engine: untrusted PNG/JPEG/WebP bytes in, upright 8-bit
 * RGB out, and PNG back out. Everything else is refused with an ImageError.
 */
import sharp from 'sharp';
import type { RgbImage } from './types';

// libvips caches recent operations keyed by their input. A service decodes a
// different upload every time, so the cache would never hit and only hold on
// to memory (up to 50 MB by default): turn it off. Thread concurrency stays at
// sharp's default (one libvips thread per core): decoding is short next to a
// style transfer, and limiting it here would only slow the decode down.
sharp.cache(false);

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export type ImageErrorCode =
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'TOO_MANY_PIXELS'
  | 'CORRUPT'
  | 'ANIMATED';

/** An input image that is refused; `code` says why, the message says it in words. */
export class ImageError extends Error {
  constructor(readonly code: ImageErrorCode, message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface ImageLimits {
  /** Largest accepted width * height; checked from the header, before any pixel is decoded. */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface ImageInfo {
  format: ImageFormat;
  mimeType: string;
  /** Upright dimensions, i.e. after applying the EXIF orientation. */
  width: number;
  height: number;
}

export type DecodedImage = RgbImage & { format: ImageFormat };

const MIME_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

const ACCEPTED = 'PNG, JPEG or WebP';

/**
 * Checks the header of `bytes` (format, animation, size) without decoding
 * pixels. A file cut short after its header passes here; decodeImage refuses it.
 */
export async function probeImage(bytes: Uint8Array, limits: ImageLimits = {}): Promise<ImageInfo> {
  const { format, width, height } = await inspect(toBuffer(bytes), maxPixelsOf(limits));
  return { format, mimeType: MIME_TYPES[format], width, height };
}

/**
 * Decodes `bytes` into upright RGB: the EXIF orientation is applied,
 * transparency is flattened onto white, any colour space is converted to sRGB.
 */
export async function decodeImage(bytes: Uint8Array, limits: ImageLimits = {}): Promise<DecodedImage> {
  const input = toBuffer(bytes);
  const maxPixels = maxPixelsOf(limits);
  const { format } = await inspect(input, maxPixels);
  try {
    const { data, info } = await sharp(input, {
      // Repeats the header check inside libvips, so nothing bigger is ever decoded.
      limitInputPixels: maxPixels,
      // The strictest level: a truncated JPEG is only a libjpeg warning and
      // would otherwise come out silently padded with grey.
      failOn: 'warning',
      autoOrient: true,
    })
      // Together these always leave exactly 3 bands: alpha gone, grey and CMYK made RGB.
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    // The pixels must own their whole ArrayBuffer, so that the image can be
    // transferred to a worker without dragging (or exposing) other memory along.
    const ownsBuffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const pixels = ownsBuffer ? new Uint8Array(data.buffer) : new Uint8Array(data);
    return { format, width: info.width, height: info.height, data: pixels };
  } catch (error) {
    throw fromSharpError(error, format);
  }
}

/** Encodes an RGB image as PNG. */
export async function encodePng(image: RgbImage): Promise<Buffer> {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: invalid image size ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(
      `encodePng: a ${width}x${height} RGB image needs ${width * height * 3} bytes, got ${data.length}`,
    );
  }
  return sharp(toBuffer(data), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** The checks shared by probe and decode: everything that can be known from the header. */
async function inspect(input: Buffer, maxPixels: number): Promise<{ format: ImageFormat; width: number; height: number }> {
  const format = sniffFormat(input);
  if (format === 'png' && isAnimatedPng(input)) {
    // libvips would quietly decode only the first frame of an APNG.
    throw new ImageError('ANIMATED', `animated PNG images are not supported; send a still image`);
  }
  let metadata: sharp.Metadata;
  try {
    // Header only; the pixel limit is checked below with a message of our own.
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw fromSharpError(error, format);
  }
  if ((metadata.pages ?? 1) > 1) {
    throw new ImageError('ANIMATED', `animated ${format.toUpperCase()} images (${metadata.pages} frames) are not supported; send a still image`);
  }
  const pixels = metadata.width * metadata.height;
  if (pixels > maxPixels) {
    throw new ImageError(
      'TOO_MANY_PIXELS',
      `image is ${metadata.width}x${metadata.height} = ${pixels} pixels, more than the limit of ${maxPixels}`,
    );
  }
  return { format, width: metadata.autoOrient.width, height: metadata.autoOrient.height };
}

function maxPixelsOf(limits: ImageLimits): number {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  // Zero would mean "no limit" to sharp, so anything but a positive integer is a bug.
  if (!Number.isInteger(maxPixels) || maxPixels < 1) {
    throw new RangeError(`maxPixels must be a positive integer, got ${maxPixels}`);
  }
  return maxPixels;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function startsWith(bytes: Buffer, signature: string, offset = 0): boolean {
  return bytes.length >= offset + signature.length
    && bytes.toString('latin1', offset, offset + signature.length) === signature;
}

/**
 * Identifies the format from its signature ourselves, so that only the three
 * accepted decoders of libvips ever see untrusted bytes (no SVG renderer, no
 * TIFF or HEIF parser).
 */
function sniffFormat(bytes: Buffer): ImageFormat {
  if (startsWith(bytes, '\x89PNG\r\n\x1a\n')) return 'png';
  if (startsWith(bytes, '\xff\xd8\xff')) return 'jpeg';
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return 'webp';
  const other = recogniseOtherImage(bytes);
  if (other) {
    throw new ImageError('UNSUPPORTED_FORMAT', `${other} images are not supported; send ${ACCEPTED}`);
  }
  throw new ImageError(
    'NOT_AN_IMAGE',
    bytes.length === 0 ? 'the file is empty' : `not an image: the data does not start like a ${ACCEPTED} file`,
  );
}

/** Names well-known image formats we do not accept, to say so rather than "not an image". */
function recogniseOtherImage(bytes: Buffer): string | null {
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'GIF';
  if (startsWith(bytes, 'II*\0') || startsWith(bytes, 'MM\0*')) return 'TIFF';
  if (startsWith(bytes, 'BM')) return 'BMP';
  if (startsWith(bytes, '8BPS')) return 'Photoshop (PSD)';
  if (startsWith(bytes, '\xff\x0a') || startsWith(bytes, '\0\0\0\x0cJXL ')) return 'JPEG XL';
  if (startsWith(bytes, '\0\0\0\x0cjP  ')) return 'JPEG 2000';
  if (startsWith(bytes, 'ftyp', 4)) {
    const brand = bytes.toString('latin1', 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'AVIF';
    if (['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'HEIF';
  }
  const text = bytes.toString('utf8', 0, 1024).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<') && /<svg[\s>]/i.test(text)) return 'SVG';
  return null;
}

/** An APNG declares its animation in an `acTL` chunk, which must come before the first `IDAT`. */
function isAnimatedPng(bytes: Buffer): boolean {
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (type === 'acTL') return true;
    if (type === 'IDAT') return false;
    offset += 12 + bytes.readUInt32BE(offset); // length, type, data, CRC
  }
  return false;
}

function fromSharpError(error: unknown, format: ImageFormat): ImageError {
  const reason = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(reason)) {
    return new ImageError('TOO_MANY_PIXELS', `image has more pixels than allowed: ${reason}`);
  }
  // libvips messages can end in ": " with nothing after it.
  const detail = reason.trim().replace(/:$/, '');
  return new ImageError('CORRUPT', `corrupt or truncated ${format.toUpperCase()} image: ${detail}`);
}
