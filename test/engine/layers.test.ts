import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine';
import { avgPool2x2Gradient, convRelu, maxPool2x2, maxPool2x2Gradient } from '../../src/engine/layers';

before(() => initBackend({ backend: 'wasm' }));

function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} != ${expected[i]}`);
  }
}

/** An output gradient as random as the input: every output's gradient matters. */
function outputGradient(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomUniform(shape, -1, 1, 'float32', seed) as tf.Tensor4D;
}

/** tf's own gradient of f at x for that output gradient. */
function builtInGradient(f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, dy: tf.Tensor4D): Float32Array {
  return tf.tidy(() => tf.grad((input) => tf.sum(tf.mul(f(input as tf.Tensor4D), dy)))(x).dataSync() as Float32Array);
}

describe('maxPool2x2', () => {
  for (const [height, width] of [[6, 8], [7, 8], [6, 9], [5, 7]]) {
    it(`pools and routes the gradient as tf.maxPool and tf.avgPool do (${height}x${width}, no ties)`, () => {
      const x = tf.randomUniform([1, height, width, 5], 0, 1, 'float32', height * 31 + width) as tf.Tensor4D;
      assertAllClose(maxPool2x2(x).dataSync(), tf.maxPool(x, 2, 2, 'valid').dataSync(), 0, 'values');
      const pooled = maxPool2x2(x);
      const dy = outputGradient(pooled.shape, 3);
      assertAllClose(maxPool2x2Gradient(dy, x, pooled).dataSync(), builtInGradient((t) => tf.maxPool(t, 2, 2, 'valid'), x, dy), 1e-6, 'gradient');
      assertAllClose(avgPool2x2Gradient(dy, x).dataSync(), builtInGradient((t) => tf.avgPool(t, 2, 2, 'valid'), x, dy), 1e-6, 'average pooling gradient');
    });
  }

  it('shares the gradient of a window equally among values tied for its maximum', () => {
    // One channel, one 2x2 window: 3 and 3 tie, 1 and 2 are not the maximum.
    const x = tf.tensor4d([3, 1, 2, 3], [1, 2, 2, 1]);
    const gradient = maxPool2x2Gradient(tf.tensor4d([4], [1, 1, 1, 1]), x, maxPool2x2(x)).dataSync();
    assert.deepEqual(Array.from(gradient), [2, 0, 0, 2]);
  });
});

describe('convRelu', () => {
  it('computes conv + bias + ReLU and its input gradient as the built-in operations do', () => {
    const kernelValues = Float32Array.from({ length: 3 * 3 * 4 * 6 }, (_, i) => Math.sin(i * 1.7) * 0.3);
    const biasValues = Float32Array.from({ length: 6 }, (_, i) => (i - 2) * 0.05);
    const layer = convRelu(kernelValues, [3, 3, 4, 6], biasValues);
    const kernel = tf.tensor4d(kernelValues, [3, 3, 4, 6]);
    const bias = tf.tensor1d(biasValues);
    const builtIn = (x: tf.Tensor4D) => tf.relu(tf.add(tf.conv2d(x, kernel, 1, 'same'), bias)) as tf.Tensor4D;
    const x = tf.randomUniform([1, 7, 9, 4], -1, 1, 'float32', 5) as tf.Tensor4D;
    const y = layer.forward(x);
    assertAllClose(y.dataSync(), builtIn(x).dataSync(), 1e-5, 'values');
    const dy = outputGradient(y.shape, 6);
    assertAllClose(layer.inputGradient(dy, y).dataSync(), builtInGradient(builtIn, x, dy), 1e-5, 'gradient');
    layer.dispose();
  });
});
