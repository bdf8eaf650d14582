import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, encodePng, ImageError, probeImage, type ImageErrorCode } from '../../src/engine/image';
import { pngChunk, withChunkAfterIhdr, withPngSize } from '../helpers/png-chunks';

/** A small deterministic pattern, so lossless formats can be compared byte for byte. */
function pattern(width: number, height: number, channels: number): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  return data;
}

function raw(data: Buffer, width: number, height: number, channels: 3 | 4) {
  return sharp(data, { raw: { width, height, channels } });
}

async function assertRefused(promise: Promise<unknown>, code: ImageErrorCode, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected an ImageError, got ${String(error)}`);
    assert.equal(error.code, code, `code of "${error.message}"`);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** Refused the same way by probe and decode. */
async function assertBothRefuse(bytes: Uint8Array, code: ImageErrorCode, message?: RegExp) {
  await assertRefused(probeImage(bytes), code, message);
  await assertRefused(decodeImage(bytes), code, message);
}

function pixelAt(image: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const at = (y * image.width + x) * 3;
  return [...image.data.subarray(at, at + 3)];
}

function assertColorNear(actual: number[], expected: number[], tolerance: number, where: string) {
  const off = actual.some((value, i) => Math.abs(value - expected[i]) > tolerance);
  assert.ok(!off, `${where}: got [${actual}], expected about [${expected}]`);
}

describe('decodeImage', () => {
  it('decodes an opaque PNG exactly', async () => {
    const pixels = pattern(5, 4, 3);
    const png = await raw(pixels, 5, 4, 3).png().toBuffer();
    const image = await decodeImage(png);
    assert.equal(image.format, 'png');
    assert.equal(image.width, 5);
    assert.equal(image.height, 4);
    assert.deepEqual(Buffer.from(image.data), pixels);
  });

  it('flattens transparency onto white', async () => {
    const rgba = Buffer.from([
      255, 0, 0, 255, // opaque red
      0, 0, 255, 0, // fully transparent blue
      255, 0, 0, 128, // half-transparent red
    ]);
    const png = await raw(rgba, 3, 1, 4).png().toBuffer();
    const image = await decodeImage(png);
    assert.equal(image.data.length, 9);
    assert.deepEqual(pixelAt(image, 0, 0), [255, 0, 0]);
    assert.deepEqual(pixelAt(image, 1, 0), [255, 255, 255]);
    assertColorNear(pixelAt(image, 2, 0), [255, 127, 127], 1, 'half-transparent red on white');
  });

  it('turns 16-bit greyscale into 8-bit RGB', async () => {
    const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: '#808080' } })
      .toColourspace('grey16').png().toBuffer();
    assert.equal((await sharp(png).metadata()).depth, 'ushort');
    const image = await decodeImage(png);
    assert.equal(image.data.length, 3 * 2 * 3);
    assert.ok(image.data.every((value) => value === 128), `got ${[...image.data]}`);
  });

  it('applies the EXIF orientation: a JPEG stored on its side comes out upright', async () => {
    // Stored 16x8, red in the top-left 8x4 quarter, blue elsewhere. Orientation 6
    // means "rotate 90 degrees clockwise to display": upright it is 8x16 with the
    // red block in the top-right (x 4..7, y 0..7).
    const stored = Buffer.alloc(16 * 8 * 3);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 16; x++) {
        stored.set(x < 8 && y < 4 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
      }
    }
    const jpeg = await raw(stored, 16, 8, 3).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    assert.equal((await sharp(jpeg).metadata()).orientation, 6);

    assert.deepEqual(await probeImage(jpeg), { format: 'jpeg', mimeType: 'image/jpeg', width: 8, height: 16 });
    const image = await decodeImage(jpeg);
    assert.equal(image.width, 8);
    assert.equal(image.height, 16);
    assertColorNear(pixelAt(image, 6, 2), [255, 0, 0], 40, 'top right');
    assertColorNear(pixelAt(image, 1, 2), [0, 0, 255], 40, 'top left');
    assertColorNear(pixelAt(image, 6, 13), [0, 0, 255], 40, 'bottom right');
  });

  it('decodes a lossless WebP exactly', async () => {
    const pixels = pattern(6, 3, 3);
    const webp = await raw(pixels, 6, 3, 3).webp({ lossless: true }).toBuffer();
    const image = await decodeImage(webp);
    assert.equal(image.format, 'webp');
    assert.deepEqual([image.width, image.height], [6, 3]);
    assert.deepEqual(Buffer.from(image.data), pixels);
  });

  it('refuses GIF, TIFF and SVG as unsupported formats', async () => {
    const pixels = pattern(4, 4, 3);
    await assertBothRefuse(await raw(pixels, 4, 4, 3).gif().toBuffer(), 'UNSUPPORTED_FORMAT', /GIF/);
    await assertBothRefuse(await raw(pixels, 4, 4, 3).tiff().toBuffer(), 'UNSUPPORTED_FORMAT', /TIFF/);
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
    await assertBothRefuse(svg, 'UNSUPPORTED_FORMAT', /SVG/);
  });

  it('refuses bytes that are not an image', async () => {
    let seed = 12345;
    const noise = Buffer.alloc(4096).map(() => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed >> 16;
    });
    await assertBothRefuse(noise, 'NOT_AN_IMAGE');
    await assertBothRefuse(Buffer.from('hello, this is text'), 'NOT_AN_IMAGE');
    await assertBothRefuse(new Uint8Array(0), 'NOT_AN_IMAGE', /empty/);
  });

  it('refuses truncated files as corrupt', async () => {
    const noisy = sharp({ create: { width: 64, height: 64, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
    const png = await noisy.clone().png().toBuffer();
    const jpeg = await noisy.clone().jpeg().toBuffer();
    // Cut in the middle of the pixel data: the header still reads fine.
    await assertRefused(decodeImage(png.subarray(0, png.length >> 1)), 'CORRUPT', /PNG/);
    await assertRefused(decodeImage(jpeg.subarray(0, jpeg.length >> 1)), 'CORRUPT', /JPEG/);
    // Cut inside the header: even probing fails.
    await assertBothRefuse(png.subarray(0, 20), 'CORRUPT');
  });

  it('refuses a header claiming 100000x100000 pixels without decoding it', async () => {
    const png = await raw(pattern(2, 2, 3), 2, 2, 3).png().toBuffer();
    const bomb = withPngSize(png, 100_000, 100_000);
    const rssBefore = process.memoryUsage().rss;
    await assertBothRefuse(bomb, 'TOO_MANY_PIXELS', /100000x100000/);
    // Decoding would need 30 GB; a header check needs nothing noticeable.
    assert.ok(process.memoryUsage().rss - rssBefore < 200e6, 'memory grew while refusing');
  });

  it('applies maxPixels to the width times height', async () => {
    const png = await raw(pattern(10, 10, 3), 10, 10, 3).png().toBuffer();
    await assertRefused(decodeImage(png, { maxPixels: 99 }), 'TOO_MANY_PIXELS', /limit of 99/);
    await assertRefused(probeImage(png, { maxPixels: 99 }), 'TOO_MANY_PIXELS');
    assert.equal((await decodeImage(png, { maxPixels: 100 })).width, 10);
    await assert.rejects(decodeImage(png, { maxPixels: 0 }), RangeError);
  });

  it('refuses animated WebP and animated PNG', async () => {
    const frames = pattern(8, 24, 3);
    const webp = await sharp(frames, { raw: { width: 8, height: 24, channels: 3, pageHeight: 8 } })
      .webp({ loop: 0, delay: [100, 100, 100] }).toBuffer();
    await assertBothRefuse(webp, 'ANIMATED', /3 frames/);

    const png = await raw(pattern(4, 4, 3), 4, 4, 3).png().toBuffer();
    const acTL = Buffer.alloc(8);
    acTL.writeUInt32BE(2, 0); // frames
    acTL.writeUInt32BE(0, 4); // loop forever
    await assertBothRefuse(withChunkAfterIhdr(png, pngChunk('acTL', acTL)), 'ANIMATED', /PNG/);
  });
});

describe('probeImage', () => {
  it('reports format, MIME type and size', async () => {
    const webp = await raw(pattern(7, 5, 3), 7, 5, 3).webp().toBuffer();
    assert.deepEqual(await probeImage(webp), { format: 'webp', mimeType: 'image/webp', width: 7, height: 5 });
    const png = await raw(pattern(3, 9, 3), 3, 9, 3).png().toBuffer();
    assert.deepEqual(await probeImage(png), { format: 'png', mimeType: 'image/png', width: 3, height: 9 });
  });
});

describe('encodePng', () => {
  it('round-trips through decodeImage', async () => {
    const image = { width: 7, height: 3, data: new Uint8Array(pattern(7, 3, 3)) };
    const png = await encodePng(image);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    const decoded = await decodeImage(png);
    assert.deepEqual([decoded.width, decoded.height], [7, 3]);
    assert.deepEqual(decoded.data, image.data);
  });

  it('refuses data of the wrong length', async () => {
    await assert.rejects(encodePng({ width: 2, height: 2, data: new Uint8Array(11) }), /needs 12 bytes, got 11/);
  });
});
