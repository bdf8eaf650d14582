import * as tf from '@tensorflow/tfjs';

/**
 * Gram matrix of a [1, h, w, c] activation: the sum over locations of the
 * outer products of the channel vectors, divided by the number of locations
 * (as the tutorial's einsum 'bijc,bijd->bcd' / (h*w)). Written as a matMul
 * because the wasm backend has no Einsum, with the transpose made explicit
 * and a hand-written gradient: wasm's matMul with transpose flags (which the
 * built-in gradient uses) takes a naive path several times slower.
 */
export const gramMatrix = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [features, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const [, height, width, channels] = features.shape;
  const locations = height * width;
  const flat = tf.reshape(features, [locations, channels]) as tf.Tensor2D;
  save([flat]);
  return {
    value: tf.div(tf.matMul(tf.transpose(flat), flat), locations) as tf.Tensor2D,
    // d(F^T F / n) / dF = F (dG + dG^T) / n
    gradFunc: (dy, saved) => {
      const [savedFlat] = saved as tf.Tensor2D[];
      const symmetric = tf.add(dy as tf.Tensor2D, tf.transpose(dy as tf.Tensor2D)) as tf.Tensor2D;
      return tf.reshape(tf.div(tf.matMul(savedFlat, symmetric), locations), features.shape);
    },
  };
}) as (features: tf.Tensor4D) => tf.Tensor2D;

export function meanSquaredError(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(a, b));
}

/**
 * Anisotropic total variation, as tf.image.total_variation: the sum of the
 * absolute differences between vertically and horizontally neighbouring
 * pixel values, over all channels.
 */
export function totalVariation(image: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [, height, width] = image.shape;
    const vertical = tf.sub(
      tf.slice(image, [0, 1, 0, 0], [-1, height - 1, -1, -1]),
      tf.slice(image, [0, 0, 0, 0], [-1, height - 1, -1, -1]),
    );
    const horizontal = tf.sub(
      tf.slice(image, [0, 0, 1, 0], [-1, -1, width - 1, -1]),
      tf.slice(image, [0, 0, 0, 0], [-1, -1, width - 1, -1]),
    );
    return tf.add(tf.sum(tf.abs(vertical)), tf.sum(tf.abs(horizontal)));
  });
}
