import * as tf from '@tensorflow/tfjs';

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface AdamState {
  m: tf.Tensor;
  v: tf.Tensor;
}

export function zeroAdamState(shape: number[]): AdamState {
  return { m: tf.zeros(shape), v: tf.zeros(shape) };
}

/**
 * One Adam update with tf.keras semantics, which the tutorial uses:
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
 *   x -= lr_t * m / (sqrt(v) + eps),  lr_t = lr * sqrt(1-b2^t) / (1-b1^t)
 * tfjs' own AdamOptimizer adds eps to the bias-corrected sqrt(v) instead,
 * which differs visibly with the tutorial's eps of 0.1.
 * `t` is the 1-based step count. Returns new tensors; the caller owns them.
 */
export function adamStep(
  x: tf.Tensor,
  gradient: tf.Tensor,
  state: AdamState,
  t: number,
  { learningRate, beta1, beta2, epsilon }: AdamSettings,
): { x: tf.Tensor; state: AdamState } {
  return tf.tidy(() => {
    const m = tf.add(tf.mul(state.m, beta1), tf.mul(gradient, 1 - beta1));
    const v = tf.add(tf.mul(state.v, beta2), tf.mul(tf.square(gradient), 1 - beta2));
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    const update = tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), epsilon));
    return { x: tf.sub(x, update), state: { m, v } };
  });
}
