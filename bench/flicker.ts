/**
 * What temporal coherence buys on an animation, painted frame after frame as
 * the worker paints one (each frame given the one before as `previous`):
 * the flicker figure (engine/temporal's, as Run.flicker reports it) and the
 * last frame's losses, with coherence at each weight asked for and without
 * it (temporalWeight 0), on two scenes made from the content photo:
 *   - square: a red square moving over the still photo (most pixels static);
 *   - pan: a window sliding over the photo, `pan` px a frame (a camera
 *     move: coherence has to follow the optical flow, and strokes that stay
 *     on the screen count as flicker).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import sharp from 'sharp';
import { flicker, loadVgg19, paint, resolveParams, type BackendInfo, type RgbImage, type TransferParams, type Vgg19 } from '../src/engine';
import { round, syntheticImage, type Row } from './common';

export interface FlickerOptions {
  size: number;
  frames: number;
  steps: number;
  /** Pixels the pan moves a frame. */
  pan: number;
  weights: number[];
  content: string;
  style: string;
}

async function photo(file: string, width: number, height: number, seed: number): Promise<RgbImage> {
  if (!existsSync(file)) return { ...syntheticImage(Math.max(width, height), seed), width: Math.max(width, height), height: Math.max(width, height) };
  const { data, info } = await sharp(readFileSync(file)).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

function crop(image: RgbImage, left: number, size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) data.set(image.data.subarray((y * image.width + left) * 3, (y * image.width + left + size) * 3), y * size * 3);
  return { width: size, height: size, data };
}

function squareScene(background: RgbImage, frames: number): RgbImage[] {
  const side = Math.round(background.width / 4);
  const step = Math.max(1, Math.floor((background.width - side) / frames));
  return Array.from({ length: frames }, (_, frame) => {
    const data = Uint8Array.from(background.data);
    for (let y = side; y < 2 * side; y++) {
      for (let x = frame * step; x < frame * step + side; x++) data.set([230, 40, 40], (y * background.width + x) * 3);
    }
    return { ...background, data };
  });
}

async function paintAll(vgg: Vgg19, contents: RgbImage[], style: RgbImage, params: TransferParams) {
  const results: RgbImage[] = [];
  let losses = { total: 0, content: 0, style: 0 };
  const started = performance.now();
  for (const [i, content] of contents.entries()) {
    const previous = i > 0 ? { content: contents[i - 1], result: results[i - 1] } : undefined;
    for await (const event of paint(vgg, { content, styles: [style], params, previous })) {
      if (event.kind !== 'epoch') continue;
      if (event.epoch === params.epochs) results.push(event.image);
      losses = event.losses;
    }
  }
  return { flicker: flicker(contents, results), losses, ms: performance.now() - started };
}

export async function benchmarkFlicker(backend: BackendInfo, options: FlickerOptions): Promise<Row[]> {
  const { size, frames, steps, pan } = options;
  const vgg = await loadVgg19();
  const style = await photo(options.style, size, size, 2);
  const wide = await photo(options.content, size + pan * (frames - 1), size, 1);
  const scenes = {
    square: squareScene(crop(wide, 0, size), frames),
    pan: Array.from({ length: frames }, (_, frame) => crop(wide, frame * pan, size)),
  };
  const rows: Row[] = [];
  for (const [scene, contents] of Object.entries(scenes)) {
    for (const temporalWeight of [0, ...options.weights]) {
      const params = resolveParams({ maxDim: size, epochs: 1, stepsPerEpoch: steps, temporalWeight });
      const painted = await paintAll(vgg, contents, style, params);
      rows.push({
        bench: 'flicker', backend: backend.backend, scene, size, frames, stepsPerFrame: steps,
        content: existsSync(options.content) ? basename(options.content) : 'synthetic',
        temporalWeight: temporalWeight === 0 ? '0 (off)' : temporalWeight.toExponential(0),
        flicker: painted.flicker === null ? 'none static' : round(painted.flicker, 2),
        lastContentLoss: painted.losses.content.toExponential(2),
        lastStyleLoss: painted.losses.style.toExponential(2),
        seconds: round(painted.ms / 1000),
      });
    }
  }
  vgg.dispose();
  return rows;
}
