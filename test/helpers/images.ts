import sharp from 'sharp';

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
