import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../src/engine/index.js';
import { locateVideoTools, runTool } from '../../src/images/video-tools.js';

/** A small PNG with a pattern that depends on `seed`, so different seeds give different bytes. */
export async function makePng(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 9 + seed * 37) % 256;
      pixels[i + 1] = (y * 7 + seed * 11) % 256;
      pixels[i + 2] = ((x ^ y) * 5 + seed * 53) % 256;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * A small animation: an 8x8 square moving across a white `width` x `height`
 * field, one frame for each delay (in ms); `seed` shifts its color, so
 * different seeds give different bytes.
 */
export async function makeAnimation(format: 'gif' | 'webp', width: number, height: number, delays: number[], seed = 0): Promise<Buffer> {
  const frameBytes = width * height * 4;
  const pixels = Buffer.alloc(frameBytes * delays.length, 255);
  delays.forEach((_, frame) => {
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const i = frame * frameBytes + (((y + frame * 3) % height) * width + (x + frame * 5) % width) * 4;
        pixels[i] = (200 + seed * 17) % 256;
        pixels[i + 1] = (seed * 41) % 256;
        pixels[i + 2] = 0;
      }
    }
  });
  const image = sharp(pixels, { raw: { width, height: height * delays.length, channels: 4, pageHeight: height } });
  return (format === 'gif' ? image.gif({ delay: delays, loop: 0 }) : image.webp({ delay: delays, loop: 0, lossless: true })).toBuffer();
}

/**
 * A GIF written byte by byte, as a hostile client might: a logical screen of
 * `screenWidth` x `screenHeight`, then `frames` frames, each a
 * `frameWidth` x `frameHeight` image of one pixel's data, shown for 100 ms.
 * 15 + 8 bytes a frame: a million frames fit in 23 MB.
 */
export function handMadeGif(screenWidth: number, screenHeight: number, frames: number, frameWidth = 1, frameHeight = 1): Buffer {
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(screenWidth, 0);
  screen.writeUInt16LE(screenHeight, 2);
  screen[4] = 0x80; // a global color table of 2 colors
  const descriptor = Buffer.alloc(10);
  descriptor[0] = 0x2c;
  descriptor.writeUInt16LE(frameWidth, 5);
  descriptor.writeUInt16LE(frameHeight, 7);
  const frame = Buffer.concat([
    Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]), // graphic control: a delay of 10 hundredths
    descriptor,
    Buffer.from([2, 2, 0x4c, 0x01, 0]), // LZW code size 2; one sub-block: clear, color 0, end
  ]);
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'), screen, Buffer.from([0, 0, 0, 255, 255, 255]),
    Buffer.from([0x21, 0xff, 11]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([3, 1, 0, 0, 0]), // loop forever
    Buffer.alloc(frame.length * frames, frame), Buffer.from([0x3b]),
  ]);
}

/**
 * A small video made by the machine's ffmpeg: `frames` frames at `fps` of the
 * moving square of makeAnimation, and with `audio` a 440 Hz tone as long
 * (AAC in MP4, Opus in WebM).
 */
export async function makeVideo(
  format: 'mp4' | 'webm', width: number, height: number, frames: number, fps: number, { audio = false, seed = 0 } = {},
): Promise<Buffer> {
  const tools = locateVideoTools();
  if (!tools) throw new Error('the tests make videos with ffmpeg, and none is installed (npm ci installs @ffmpeg-installer/ffmpeg)');
  const { data } = await sharp(await makeAnimation('webp', width, height, Array.from({ length: frames }, () => 100), seed), { animated: true })
    .removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stylegraph-test-video-'));
  try {
    const file = path.join(dir, `made.${format}`);
    const { code, stderr } = await runTool(tools.ffmpeg, [
      '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${frames / fps}`] : []),
      '-pix_fmt', 'yuv420p',
      ...(format === 'mp4' ? ['-c:v', 'libx264', '-crf', '10', '-movflags', '+faststart'] : ['-c:v', 'libvpx-vp9', '-crf', '10', '-b:v', '0']),
      ...(audio ? ['-c:a', format === 'mp4' ? 'aac' : 'libopus'] : []),
      file,
    ], { input: data, maxStdoutBytes: 0, timeoutMs: 300_000 });
    if (code !== 0) throw new Error(`ffmpeg made no ${format}: ${stderr}`);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The `width` x `height` window of `image` whose top left corner is (left, top). */
export function crop(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * 3;
    data.set(image.data.subarray(start, start + width * 3), y * width * 3);
  }
  return { width, height, data };
}
