/**
 * Temporal coherence for a run over an animation's frames, as Ruder et al.
 * 2016: the previous painted frame is carried along the optical flow between
 * the content frames (flow.ts); the frame starts from it and is held to it
 * (a loss term the optimisation adds) where the flow can be trusted and the
 * content, followed along it, did not change. What was uncovered, occluded
 * or changed is free. And the figure that says how well that worked:
 * flicker, the change between consecutive painted frames along that motion.
 */
import * as tf from '@tensorflow/tfjs';
import { estimateFlow, trustedFlow, warp } from './flow';
import { resizeTo, rgbToTensor, tensorToRgb } from './pixels';
import type { RgbImage } from './types';

/** The frame before the one being painted: its content, and what it was painted as. */
export interface PreviousFrame {
  content: RgbImage;
  result: RgbImage;
}

/**
 * How far (of the full 0-255 range, averaged over the channels) a content
 * pixel may differ from where the flow says it came from and still count as
 * unchanged: above a GIF's dithering, a video's compression noise and the
 * flow's sub-pixel error on edges (a few levels), below a real change.
 */
const STATIC_CHANGE = 0.1;

/** The previous frame's result brought to this frame, at the result's size. */
export interface CarriedFrame {
  /**
   * The previous result carried along the flow where the mask is 1, the
   * content frame where it is 0. What came into the frame, or out from
   * behind a moving object, has no painted past: the flow there points at
   * the frame's edge or at the object that hid it, and a start from that
   * left a trail that the next frame then held (160x112, 10 frames of 30
   * steps: a red square moving 8 px a frame dragged a red band behind it,
   * and a tower coming in on a pan stayed a dark smear; from the content,
   * both are painted as they are, for a flicker of 3.57 instead of 4.01 on
   * the square and 3.56 instead of 3.30 on the pan).
   */
  image: RgbImage;
  /** One float per pixel: 1 where `image` is the previous result and the content stood still along the flow, else 0. */
  mask: Float32Array;
}

function scaled(image: RgbImage, width: number, height: number): RgbImage {
  if (image.width === width && image.height === height) return image;
  const resized = tf.tidy(() => resizeTo(rgbToTensor(image), width, height));
  try {
    return tensorToRgb(resized);
  } finally {
    resized.dispose();
  }
}

/** `previous`'s result carried to the frame whose content is `content` (both content frames of one size). */
export function carryOver(previous: PreviousFrame, content: RgbImage): CarriedFrame {
  if (previous.content.width !== content.width || previous.content.height !== content.height) {
    throw new Error(`frames of different sizes (${previous.content.width}x${previous.content.height}, ${content.width}x${content.height})`);
  }
  const { width, height } = previous.result;
  const [before, after] = [scaled(previous.content, width, height), scaled(content, width, height)];
  const backward = estimateFlow(before, after);
  const trusted = trustedFlow(backward, estimateFlow(after, before));
  const [seen, painted] = [warp(before, backward), warp(previous.result, backward)];
  const mask = new Float32Array(width * height);
  const limit = STATIC_CHANGE * 255 * 3;
  for (let pixel = 0, i = 0; pixel < mask.length; pixel++, i += 3) {
    const change = Math.abs(after.data[i] - seen.data[i]) + Math.abs(after.data[i + 1] - seen.data[i + 1])
      + Math.abs(after.data[i + 2] - seen.data[i + 2]);
    mask[pixel] = trusted[pixel] && change <= limit ? 1 : 0;
    if (!mask[pixel]) painted.data.set(after.data.subarray(i, i + 3), i);
  }
  return { image: painted, mask };
}

/** What the temporal term compares the image with at one size. */
export interface TemporalTarget {
  /** The carried frame's image at this size. */
  previous: tf.Tensor4D;
  /** [1, h, w, 1]: its mask at this size (bilinear, so 0..1 at the edges of what is free). */
  mask: tf.Tensor4D;
}

export function temporalTarget(carried: CarriedFrame, width: number, height: number): TemporalTarget {
  return tf.tidy(() => {
    const mask = tf.tensor4d(carried.mask, [1, carried.image.height, carried.image.width, 1]);
    return { previous: resizeTo(rgbToTensor(carried.image), width, height), mask: resizeTo(mask, width, height) };
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
 * pixels and channels) between each painted frame and the one before it
 * carried along the content's motion (carryOver), where the content stood
 * still along it, averaged over the pairs that have any such pixel. On a
 * still shot that is the change where the content frames did not change; on
 * a pan, strokes that stay put on the screen count as the flicker they are.
 * Null when no pair has such a pixel (one frame, or everything changed).
 * The results may be smaller than the contents (maxDim): the contents are
 * compared at the results' size.
 */
export function flicker(contents: RgbImage[], results: RgbImage[]): number | null {
  if (contents.length !== results.length) throw new Error(`${contents.length} content frames for ${results.length} results`);
  let sum = 0;
  let pairs = 0;
  for (let frame = 1; frame < results.length; frame++) {
    const { image, mask } = carryOver({ content: contents[frame - 1], result: results[frame - 1] }, contents[frame]);
    const after = results[frame].data;
    let difference = 0;
    let counted = 0;
    for (let pixel = 0, i = 0; pixel < mask.length; pixel++, i += 3) {
      if (!mask[pixel]) continue;
      difference += Math.abs(after[i] - image.data[i]) + Math.abs(after[i + 1] - image.data[i + 1]) + Math.abs(after[i + 2] - image.data[i + 2]);
      counted += 3;
    }
    if (counted === 0) continue;
    sum += difference / counted;
    pairs++;
  }
  return pairs === 0 ? null : sum / pairs;
}
