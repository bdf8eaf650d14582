/**
 * Temporal coherence for a run over an animation's frames: Ruder et al.
 * 2016's simplest variant, without optical flow. Where the content did not
 * change between two frames, the painted frame is held close to the one
 * before it (a loss term the optimisation adds); where it moved, it is free.
 * And the figure that says how well that worked: flicker, the change between
 * consecutive painted frames where their content stood still.
 */
import * as tf from '@tensorflow/tfjs';
import { resizeTo, rgbToTensor } from './pixels';
import type { RgbImage } from './types';

/** The frame before the one being painted: its content, and what it was painted as. */
export interface PreviousFrame {
  content: RgbImage;
  result: RgbImage;
}

/**
 * How far (of the full 0-255 range, averaged over the channels) a content
 * pixel may change between frames and still count as static: above a GIF's
 * dithering and a video's compression noise (a few levels), below any real
 * edge moving across it.
 */
const STATIC_CHANGE = 0.1;

/** 1 where the content stood still from `previous` to `current` (the same size), else 0: one float per pixel. */
export function staticMask(previous: RgbImage, current: RgbImage): Float32Array {
  if (previous.width !== current.width || previous.height !== current.height) {
    throw new Error(`frames of different sizes (${previous.width}x${previous.height}, ${current.width}x${current.height})`);
  }
  const mask = new Float32Array(current.width * current.height);
  const limit = STATIC_CHANGE * 255 * 3;
  for (let pixel = 0, i = 0; pixel < mask.length; pixel++, i += 3) {
    const change = Math.abs(current.data[i] - previous.data[i]) + Math.abs(current.data[i + 1] - previous.data[i + 1])
      + Math.abs(current.data[i + 2] - previous.data[i + 2]);
    mask[pixel] = change <= limit ? 1 : 0;
  }
  return mask;
}

/** What the temporal term compares the image with at one size. */
export interface TemporalTarget {
  /** The previous frame's result at this size. */
  previous: tf.Tensor4D;
  /** [1, h, w, 1]: staticMask at this size (bilinear, so 0..1 at the edges of what moved). */
  mask: tf.Tensor4D;
}

export function temporalTarget(frame: PreviousFrame, content: RgbImage, width: number, height: number): TemporalTarget {
  return tf.tidy(() => {
    const mask = tf.tensor4d(staticMask(frame.content, content), [1, content.height, content.width, 1]);
    return { previous: resizeTo(rgbToTensor(frame.result), width, height), mask: resizeTo(mask, width, height) };
  });
}

/** mean(mask (x - previous)^2) over all pixel values: the term the weight (params.temporalWeight) multiplies. */
export function temporalLoss(image: tf.Tensor4D, target: TemporalTarget): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.mul(tf.squaredDifference(image, target.previous), target.mask)));
}

/** The gradient of temporalLoss: 2 mask (x - previous) / size. */
export function temporalLossGradient(image: tf.Tensor4D, target: TemporalTarget): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.mul(tf.sub(image, target.previous), target.mask), 2 / image.size) as tf.Tensor4D);
}

/**
 * The flicker of painted frames: the mean absolute difference (0-255, over
 * pixels and channels) between each painted frame and the one before it,
 * where their content frames stood still, averaged over the pairs that have
 * any such pixel. Null when no pair has (one frame, or nothing static).
 * The results may be smaller than the contents (maxDim): each result pixel
 * takes the mask of the content pixel it was scaled from.
 */
export function flicker(contents: RgbImage[], results: RgbImage[]): number | null {
  if (contents.length !== results.length) throw new Error(`${contents.length} content frames for ${results.length} results`);
  let sum = 0;
  let pairs = 0;
  for (let frame = 1; frame < results.length; frame++) {
    const content = contents[frame];
    const mask = staticMask(contents[frame - 1], content);
    const [before, after] = [results[frame - 1], results[frame]];
    let difference = 0;
    let counted = 0;
    for (let y = 0; y < after.height; y++) {
      const row = Math.min(content.height - 1, Math.floor(((y + 0.5) * content.height) / after.height)) * content.width;
      for (let x = 0; x < after.width; x++) {
        if (!mask[row + Math.min(content.width - 1, Math.floor(((x + 0.5) * content.width) / after.width))]) continue;
        const i = (y * after.width + x) * 3;
        difference += Math.abs(after.data[i] - before.data[i]) + Math.abs(after.data[i + 1] - before.data[i + 1])
          + Math.abs(after.data[i + 2] - before.data[i + 2]);
        counted += 3;
      }
    }
    if (counted === 0) continue;
    sum += difference / counted;
    pairs++;
  }
  return pairs === 0 ? null : sum / pairs;
}
