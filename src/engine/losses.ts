import * as tf from '@tensorflow/tfjs';

/**
 * Gram matrix of a [1, h, w, c] activation: the sum over locations of the
 * outer products of the channel vectors, divided by the number of locations
 * (as the tutorial's einsum 'bijc,bijd->bcd' / (h*w)).
 */
export function gramMatrix(features: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const [, height, width, channels] = features.shape;
    const locations = height * width;
    // The transpose is explicit: the wasm backend's matMul with transpose flags takes a naive path, several times slower.
    const flat = tf.reshape(features, [locations, channels]) as tf.Tensor2D;
    return tf.div(tf.matMul(tf.transpose(flat), flat), locations) as tf.Tensor2D;
  });
}

/** The gradient of gramMatrix with respect to `features`, from that with respect to the Gram matrix: F (dG + dG^T) / n. */
export function gramMatrixGradient(features: tf.Tensor4D, dGram: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, height, width, channels] = features.shape;
    const locations = height * width;
    const symmetric = tf.add(dGram, tf.transpose(dGram)) as tf.Tensor2D;
    const flat = tf.reshape(features, [locations, channels]) as tf.Tensor2D;
    return tf.reshape(tf.div(tf.matMul(flat, symmetric), locations), features.shape) as tf.Tensor4D;
  });
}

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

/**
 * The gradient of totalVariation: each difference's sign, added to the pixel
 * it is taken from and subtracted from the one it is taken against (0 where
 * they are equal, as tf's gradient of abs).
 */
export function totalVariationGradient(image: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, height, width] = image.shape;
    const vertical = tf.sign(tf.sub(
      tf.slice(image, [0, 1, 0, 0], [-1, height - 1, -1, -1]),
      tf.slice(image, [0, 0, 0, 0], [-1, height - 1, -1, -1]),
    ));
    const horizontal = tf.sign(tf.sub(
      tf.slice(image, [0, 0, 1, 0], [-1, -1, width - 1, -1]),
      tf.slice(image, [0, 0, 0, 0], [-1, -1, width - 1, -1]),
    ));
    return tf.addN([
      tf.pad(vertical, [[0, 0], [1, 0], [0, 0], [0, 0]]),
      tf.neg(tf.pad(vertical, [[0, 0], [0, 1], [0, 0], [0, 0]])),
      tf.pad(horizontal, [[0, 0], [0, 0], [1, 0], [0, 0]]),
      tf.neg(tf.pad(horizontal, [[0, 0], [0, 0], [0, 1], [0, 0]])),
    ]) as tf.Tensor4D;
  });
}
