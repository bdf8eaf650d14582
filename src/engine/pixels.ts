import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from './types';

/** Byte value -> float pixel, exactly as a float32 division by 255. */
const UNIT = Float32Array.from({ length: 256 }, (_, value) => value / 255);

/** [1, h, w, 3] float pixels in 0..1, made in JavaScript: the backend holds the float image only, not an integer copy too. */
export function rgbToTensor(image: RgbImage): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(image.data, (value) => UNIT[value]), [1, image.height, image.width, 3]);
}

export function tensorToRgb(image: tf.Tensor4D): RgbImage {
  const [, height, width] = image.shape;
  const data = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(image, 0, 1), 255)).dataSync());
  return { width, height, data: Uint8Array.from(data) };
}

/**
 * The size whose longer side is `maxDim`, keeping the aspect ratio; the
 * shorter side is truncated as the tutorial's int32 cast does.
 */
export function fitSize(width: number, height: number, maxDim: number): { width: number; height: number } {
  const scale = maxDim / Math.max(width, height);
  return {
    width: width >= height ? maxDim : Math.max(1, Math.floor(width * scale)),
    height: height >= width ? maxDim : Math.max(1, Math.floor(height * scale)),
  };
}

/** Bilinear resize as tf.image.resize (half-pixel centres); an image already that size is kept. */
export function resizeTo(image: tf.Tensor4D, width: number, height: number): tf.Tensor4D {
  const [, h, w] = image.shape;
  if (h === height && w === width) return tf.clone(image);
  return tf.image.resizeBilinear(image, [height, width], false, true);
}

export function fitToMaxDim(image: tf.Tensor4D, maxDim: number): tf.Tensor4D {
  const [, height, width] = image.shape;
  const size = fitSize(width, height, maxDim);
  return resizeTo(image, size.width, size.height);
}

// RGB <-> YIQ (NTSC), the colour space Gatys et al. 2016 use to keep colors.
// Plain arrays: a tensor made at import time would start a backend before initBackend chose one.
const RGB_TO_YIQ = [
  [0.299, 0.596, 0.211],
  [0.587, -0.274, -0.523],
  [0.114, -0.322, 0.312],
];
const YIQ_TO_RGB = [
  [1, 1, 1],
  [0.956, -0.272, -1.106],
  [0.621, -0.647, 1.703],
];

function applyColorMatrix(image: tf.Tensor4D, matrix: number[][]): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, height, width] = image.shape;
    return tf.reshape(tf.matMul(tf.reshape(image, [-1, 3]), tf.tensor2d(matrix)), [batch, height, width, 3]) as tf.Tensor4D;
  });
}

/** The luminance channel (YIQ's Y), [1, h, w, 1]. */
export function luminance(image: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.slice(applyColorMatrix(image, RGB_TO_YIQ), [0, 0, 0, 0], [-1, -1, -1, 1]));
}

/**
 * A grey image carrying only `image`'s luminance, shifted and scaled to the
 * mean and standard deviation of `reference`'s luminance: the style input of
 * luminance-only transfer (Gatys et al. 2016, "Preserving colour").
 */
export function matchedLuminanceImage(image: tf.Tensor4D, reference: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = luminance(image);
    const ref = luminance(reference);
    const { mean, variance } = tf.moments(y);
    const target = tf.moments(ref);
    const matched = tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-8))), tf.sqrt(target.variance)), target.mean);
    return tf.clipByValue(tf.tile(matched, [1, 1, 1, 3]), 0, 1) as tf.Tensor4D;
  });
}

/** `image`'s luminance with `colors`' chroma (YIQ's I and Q). */
export function withColorsOf(image: tf.Tensor4D, colors: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const chroma = tf.slice(applyColorMatrix(colors, RGB_TO_YIQ), [0, 0, 0, 1], [-1, -1, -1, 2]);
    const yiq = tf.concat([luminance(image), chroma], 3) as tf.Tensor4D;
    return tf.clipByValue(applyColorMatrix(yiq, YIQ_TO_RGB), 0, 1);
  });
}
