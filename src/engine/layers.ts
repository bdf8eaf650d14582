/**
 * The layers of a network whose input is optimised, each with its backward
 * step written out of operations that are fast on the WebAssembly backend:
 * there convolutions, poolings and element-wise arithmetic run on XNNPACK's
 * threads, while the kernels that tfjs's own gradients reach for
 * (Conv2DBackpropInput, MaxPoolGrad, matMul with transpose flags) are scalar
 * loops on one thread, several times slower than the forward pass. The
 * backward steps are called by hand (vgg19.ts), not through tf.grad, so that
 * each gradient is released as soon as the next one is made: tf.grad keeps
 * every intermediate gradient until the end, five times the activations.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvRelu {
  /** 3x3 'same' convolution + bias + ReLU. */
  forward(x: tf.Tensor4D): tf.Tensor4D;
  /** The gradient with respect to the input, from that with respect to the output `y` = forward(x). */
  inputGradient(dy: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/**
 * A conv + bias + ReLU layer from an HWIO kernel. The input gradient of a
 * stride-1 'same' 3x3 convolution is a forward convolution of the output
 * gradient with the kernel rotated by 180 degrees and its in/out channels
 * swapped: on wasm about ten times faster than Conv2DBackpropInput, with the
 * same values (see shared notes on TensorFlow.js).
 */
export function convRelu(kernelValues: Float32Array, kernelShape: [number, number, number, number], biasValues: Float32Array): ConvRelu {
  const kernel = tf.tensor4d(kernelValues, kernelShape);
  const bias = tf.tensor1d(biasValues);
  const inputGradientKernel = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  return {
    forward: (x) => tf.fused.conv2d({ x, filter: kernel, bias, strides: 1, pad: 'same', activation: 'relu' }),
    inputGradient: (dy, y) => consume(tf.tidy(() => tf.mul(dy, tf.step(y))), (beforeRelu) => tf.conv2d(beforeRelu as tf.Tensor4D, inputGradientKernel, 1, 'same')),
    dispose: () => tf.dispose([kernel, bias, inputGradientKernel]),
  };
}

/** [1, h, w, c] -> [1, 2h, 2w, c], each value repeated in a 2x2 block: two concatenations, which run at memory speed. */
function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [, height, width, channels] = x.shape;
  // Each tidy keeps only its reshaped result (a view of the concatenation's data).
  const wide = tf.tidy(() => tf.reshape(tf.concat([x, x], 3), [1, height, 2 * width, channels]));
  return consume(wide, (w) => tf.tidy(() => tf.reshape(tf.concat([w, w], 2), [1, 2 * height, 2 * width, channels]) as tf.Tensor4D));
}

/** f(x), releasing x: for chains of full-size maps, so that no more than two are alive at once. */
function consume<T extends tf.Tensor>(x: tf.Tensor, f: (x: tf.Tensor) => T): T {
  const result = f(x);
  x.dispose();
  return result;
}

/** A pooled map back at the size of `input` ([1, h, w, c]): an odd last row or column was in no window and gets `value`. */
function upToInput(pooled: tf.Tensor4D, input: tf.Tensor4D, value: number): tf.Tensor4D {
  const [, height, width] = input.shape;
  const up = upsample2x(pooled);
  return height % 2 + width % 2 === 0 ? up : consume(up, (u) => tf.pad(u, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]], value) as tf.Tensor4D);
}

/** 2x2 max pooling with stride 2 ('valid': an odd last row or column is dropped). */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

/**
 * The gradient of maxPool2x2 with respect to `input`, from that with respect
 * to its `output`. The gradient of a window goes to its maximum; where
 * several values tie for it exactly, it is shared equally among them (a
 * subgradient as valid as TensorFlow's choice of the first one; ties of
 * positive activations are rare, and zeros get no gradient through the
 * ReLU before).
 */
export function maxPool2x2Gradient(dy: tf.Tensor4D, input: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor4D {
  // 1 where an input is its window's maximum, else 0 (and 0 outside every window).
  const above = consume(upToInput(output, input, Infinity), (max) => tf.sub(max, input));
  const isMax = consume(consume(above, (a) => tf.step(a)), (notMax) => tf.sub(1, notMax)) as tf.Tensor4D;
  const share = tf.tidy(() => tf.div(dy, tf.mul(tf.avgPool(isMax, 2, 2, 'valid'), 4)) as tf.Tensor4D);
  const spread = consume(share, (s) => upToInput(s as tf.Tensor4D, input, 0));
  const gradient = tf.mul(isMax, spread) as tf.Tensor4D;
  tf.dispose([isMax, spread]);
  return gradient;
}

/** 2x2 average pooling with stride 2 ('valid'). */
export function avgPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}

/** The gradient of avgPool2x2 with respect to `input`: a quarter of each window's gradient to each of its values. */
export function avgPool2x2Gradient(dy: tf.Tensor4D, input: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => upToInput(tf.mul(dy, 0.25) as tf.Tensor4D, input, 0));
}
