/**
 * GIF and animated WebP images in: their frames counted and measured from
 * the header, held to the animation limits, then decoded once to prove them
 * whole. Then, for a run over one, its frames out as still images, and the
 * painted frames back in as an animation of the same kind. Still PNG, JPEG
 * and WebP images are the engine's (probeImage, decodeImage); it refuses GIF
 * and animated WebP, which is why they are read here, with sharp directly.
 */
import sharp from 'sharp';
import { ImageError, ParamError } from '../engine/index.js';
import type { ApiLimits } from '../runs/limits.js';
import type { FrameInfo, ImageInfo } from '../storage/images.js';

export type AnimationFormat = 'gif' | 'webp';

/** A GIF (one frame or more) or an animated WebP, as its header declares it. */
export interface Animation extends ImageInfo, FrameInfo {
  format: AnimationFormat;
}

/** What the limits are held against: one frame's size, how many frames, how long (null: not known yet). */
interface DeclaredFrames {
  width: number;
  height: number;
  frames: number;
  durationMs: number | null;
}

const MIME_TYPES: Record<AnimationFormat, string> = { gif: 'image/gif', webp: 'image/webp' };

/**
 * The animation the bytes hold, refused (naming `field`) if it is over the
 * limits; null for what is no GIF and no animated WebP. Decodes no pixel:
 * sharp's metadata reads only headers, and for a GIF the frames are first
 * counted here (scanGif), since libvips walks every frame of a GIF to count
 * them (a million tiny frames take it seconds).
 */
export async function probeAnimation(bytes: Uint8Array, field: string, limits: ApiLimits): Promise<Animation | null> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = sniffAnimationFormat(input);
  if (!format) return null;
  if (format === 'gif') checkFrameLimits(scanGif(input, limits.maxFrames), field, limits);
  let metadata: sharp.Metadata;
  try {
    // Header only: the limits are checked below with messages of our own.
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw corrupt(error, format);
  }
  const frames = metadata.pages ?? 1;
  if (format === 'webp' && frames === 1) return null;
  // Without `animated`, sharp's metadata is of one frame; autoOrient applies an EXIF orientation a WebP may carry.
  const { width, height } = metadata.autoOrient;
  const durationMs = frames === 1 ? null : (metadata.delay ?? []).reduce((sum, delay) => sum + delay, 0);
  const animation = { format, mimeType: MIME_TYPES[format], width, height, frames, durationMs };
  checkFrameLimits(animation, field, limits);
  return animation;
}

/**
 * Decodes every frame, keeping none (stats reads the pixels as they come), so
 * that a truncated or corrupt file is refused now, not in a later slice's run.
 */
export async function decodeAnimation(bytes: Uint8Array, animation: Animation, limits: ApiLimits): Promise<void> {
  try {
    await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      animated: true,
      // All frames stacked are one image to libvips: its own pixel limit repeats the total checked from the header.
      limitInputPixels: limits.maxTotalPixels,
      failOn: 'warning',
    }).stats();
  } catch (error) {
    throw corrupt(error, animation.format);
  }
}

/** An animation's frames as still PNG images the engine paints, each with how long it is shown. */
export interface AnimationFrames {
  format: AnimationFormat;
  /** Each frame as the animation shows it (earlier frames it draws over composited in), upright. */
  frames: Uint8Array[];
  /** One per frame, in ms (0 where the file declares none). */
  delaysMs: number[];
  /** Times it plays (0: for ever). */
  loop: number;
}

/** The frames of a GIF or animated WebP (stored, so within the limits already). */
export async function readFrames(bytes: Uint8Array): Promise<AnimationFrames> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = sniffAnimationFormat(input);
  if (!format) throw new ImageError('UNSUPPORTED_FORMAT', 'not a GIF or WebP image');
  // Stored images were checked against the limits when they came in: libvips' own pixel limit would only refuse large ones again.
  const animation = sharp(input, { animated: true, limitInputPixels: false });
  const { pages = 1, pageHeight, delay = [], loop = 0 } = await animation.metadata();
  const { data, info } = await animation.raw().toBuffer({ resolveWithObject: true });
  const height = pageHeight ?? info.height / pages;
  const frameBytes = info.width * height * info.channels;
  const frames: Uint8Array[] = [];
  for (let page = 0; page < pages; page++) {
    const pixels = data.subarray(page * frameBytes, (page + 1) * frameBytes);
    frames.push(await sharp(pixels, { raw: { width: info.width, height, channels: info.channels } }).png().toBuffer());
  }
  return { format, frames, delaysMs: Array.from({ length: pages }, (_, page) => delay[page] ?? 0), loop };
}

/** An encoded animation, described as the images table stores it. */
export interface EncodedAnimation extends Animation {
  bytes: Uint8Array;
}

/**
 * The painted frames (PNG, all one size) as an animation of `format`, each
 * shown for its delay, playing `loop` times: what a run over an animation
 * gives back, the same kind it was sent.
 */
export async function writeAnimation(format: AnimationFormat, frames: Uint8Array[], delaysMs: number[], loop: number): Promise<EncodedAnimation> {
  const joined = sharp(frames.map((frame) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)), { join: { animated: true } });
  const bytes = format === 'gif'
    ? await joined.gif({ delay: delaysMs, loop }).toBuffer()
    // Near-lossless: WebP's lossy mode halves the colour resolution, and a painted frame's fine, saturated strokes go first
    // (measured on the tests' 32 px frames: 20 levels of 255 off on average at quality 90, none near-lossless).
    : await joined.webp({ delay: delaysMs, loop, nearLossless: true, quality: 80 }).toBuffer();
  const { width, height } = await sharp(bytes).metadata();
  return {
    format, mimeType: MIME_TYPES[format], width, height, bytes,
    frames: frames.length, durationMs: delaysMs.reduce((sum, delay) => sum + delay, 0),
  };
}

/**
 * The animation limits, all of them, refused naming `field`: the pixels of
 * one frame (maxImagePixels, as for a still image), the frames, the pixels of
 * all frames, the duration. Videos are held to them too.
 */
export function checkFrameLimits({ width, height, frames, durationMs }: DeclaredFrames, field: string, limits: ApiLimits): void {
  const framePixels = width * height;
  if (framePixels > limits.maxImagePixels) {
    throw new ParamError(field, `each frame is ${width}x${height} = ${framePixels} pixels, more than the limit of ${limits.maxImagePixels}`);
  }
  if (frames > limits.maxFrames) {
    // "More than": a GIF's frames are counted only until they are too many.
    throw new ParamError(field, `has more than ${limits.maxFrames} frames; this server accepts animations of at most ${limits.maxFrames} frames`);
  }
  const totalPixels = framePixels * frames;
  if (totalPixels > limits.maxTotalPixels) {
    throw new ParamError(field, `has ${frames} frames of ${width}x${height} = ${totalPixels} pixels in all; this server accepts animations of at most ${limits.maxTotalPixels} pixels in all`);
  }
  if (durationMs !== null && durationMs > limits.maxDurationMs) {
    throw new ParamError(field, `lasts ${durationMs} ms; this server accepts animations of at most ${limits.maxDurationMs} ms`);
  }
}

/**
 * Average frames per second: frames * 1000 / durationMs, to two decimals (a
 * GIF's delays are whole hundredths of a second, so its rates are not round
 * numbers: 3 frames of 30 ms are 33.33 fps). Null for a still image and for
 * an animation whose frames declare no delay at all.
 */
export function framesPerSecond({ frames, durationMs }: FrameInfo): number | null {
  if (durationMs === null || durationMs === 0) return null;
  return Math.round(frames * 100_000 / durationMs) / 100;
}

function sniffAnimationFormat(bytes: Buffer): AnimationFormat | null {
  const head = bytes.toString('latin1', 0, 12);
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8) === 'WEBP') return 'webp';
  return null;
}

/**
 * What a GIF declares, read from its blocks without decoding any: its frames,
 * counted up to one over `maxFrames` (enough to refuse it), and the largest
 * size a frame is drawn on (the logical screen, or a frame's extent past it).
 * Stops at the first byte that makes no sense; sharp judges the rest.
 */
function scanGif(bytes: Buffer, maxFrames: number): DeclaredFrames {
  if (bytes.length < 13) return { width: 0, height: 0, frames: 0, durationMs: null };
  let width = bytes.readUInt16LE(6);
  let height = bytes.readUInt16LE(8);
  let offset = 13 + colorTableBytes(bytes[10]);
  let frames = 0;
  while (offset < bytes.length && frames <= maxFrames) {
    const block = bytes[offset];
    if (block === 0x21) {
      // Extension: introducer, label, data sub-blocks.
      offset = skipSubBlocks(bytes, offset + 2);
    } else if (block === 0x2c && offset + 10 <= bytes.length) {
      // Image descriptor: left, top, width, height, packed; then an optional color table, the LZW code size and the data sub-blocks.
      frames++;
      width = Math.max(width, bytes.readUInt16LE(offset + 1) + bytes.readUInt16LE(offset + 5));
      height = Math.max(height, bytes.readUInt16LE(offset + 3) + bytes.readUInt16LE(offset + 7));
      offset = skipSubBlocks(bytes, offset + 10 + colorTableBytes(bytes[offset + 9]) + 1);
    } else {
      break; // the trailer (0x3b), or bytes sharp will refuse
    }
  }
  return { width, height, frames, durationMs: null };
}

/** A GIF color table follows a packed byte whose top bit is set: 3 bytes for each of 2^(size + 1) colors. */
function colorTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * (2 << (packed & 7)) : 0;
}

/** The offset after the sub-blocks starting at `offset`: each a length byte and that many bytes, ended by a zero length. */
function skipSubBlocks(bytes: Buffer, offset: number): number {
  let at = offset;
  while (at < bytes.length && bytes[at] !== 0) at += 1 + bytes[at];
  return at + 1;
}

function corrupt(error: unknown, format: AnimationFormat): ImageError {
  // libvips messages can end in ": " with nothing after it.
  const detail = (error instanceof Error ? error.message : String(error)).trim().replace(/:$/, '');
  return new ImageError('CORRUPT', `corrupt or truncated ${format.toUpperCase()} image: ${detail}`);
}
