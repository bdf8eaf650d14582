import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine';
import { adamStep, zeroAdamState } from '../../src/engine/adam';
import { gramMatrix, gramMatrixGradient, totalVariation, totalVariationGradient } from '../../src/engine/losses';

function assertClose(actual: number, expected: number, relative = 1e-6, message = '') {
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${message} ${actual} != ${expected}`);
}

before(() => initBackend({ backend: 'wasm' }));

describe('gramMatrix', () => {
  it('sums outer products of channel vectors over locations, divided by their count', () => {
    // Four locations (2x2), two channels: vectors (1,2), (3,4), (5,6), (7,8).
    const features = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const gram = gramMatrix(features).arraySync();
    // c0.c0 = 1+9+25+49 = 84; c0.c1 = 2+12+30+56 = 100; c1.c1 = 4+16+36+64 = 120; all / 4.
    assert.deepEqual(gram, [[21, 25], [25, 30]]);
  });

  // Shapes with few and with many locations per channel.
  for (const [height, width, channels] of [[3, 5, 4], [12, 10, 4]]) {
    it(`has the value and gradient of the plain formula (${height}x${width}, ${channels} channels)`, () => {
      const locations = height * width;
      const features = tf.randomUniform([1, height, width, channels], -1, 1, 'float32', 11) as tf.Tensor4D;
      const weights = tf.randomUniform([channels, channels], -1, 1, 'float32', 12);
      const plainGram = (f: tf.Tensor4D) => {
        const flat = tf.reshape(f, [locations, channels]) as tf.Tensor2D;
        return tf.div(tf.matMul(flat, flat, true, false), locations);
      };
      const value = gramMatrix(features).dataSync();
      plainGram(features).dataSync().forEach((expected, i) => assertClose(value[i], expected, 1e-6, `value ${i}`));
      const ours = gramMatrixGradient(features, weights as tf.Tensor2D).dataSync();
      const plain = tf.grad((f) => tf.sum(tf.mul(plainGram(f as tf.Tensor4D), weights)))(features).dataSync();
      ours.forEach((gradient, i) => assertClose(gradient, plain[i], 1e-5, `gradient ${i}`));
    });
  }
});

describe('totalVariation', () => {
  it('adds absolute differences of vertical and horizontal neighbours over all channels', () => {
    // 2x3 image, one value per pixel in channel 0, channel 1 constant, channel 2 twice channel 0.
    const values = [[1, 4, 2], [0, 5, 5]];
    const pixels = values.flat().flatMap((v) => [v, 7, 2 * v]);
    const image = tf.tensor4d(pixels, [1, 2, 3, 3]);
    // Channel 0: vertical |0-1|+|5-4|+|5-2| = 5; horizontal |4-1|+|2-4|+|5-0|+|5-5| = 10 -> 15.
    // Channel 1: 0. Channel 2: 30.
    assert.equal(totalVariation(image).dataSync()[0], 45);
  });

  it('has the gradient of tf\'s own differentiation of it, and 0 for equal neighbours (sign(0), as TensorFlow)', () => {
    const image = tf.randomUniform([1, 5, 6, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const expected = tf.grad((x) => totalVariation(x as tf.Tensor4D))(image).dataSync();
    assert.deepEqual(Array.from(totalVariationGradient(image).dataSync()), Array.from(expected));
    // tfjs's own gradient of abs takes -1 at 0; TensorFlow's (the tutorial's) takes sign(0) = 0.
    assert.ok(totalVariationGradient(tf.fill([1, 3, 4, 3], 0.5) as tf.Tensor4D).dataSync().every((v) => v === 0));
  });
});

/** tf.keras Adam written out with plain numbers, the reference for one parameter. */
function kerasAdamReference(x0: number, gradientAt: (x: number) => number, steps: number, lr: number, b1: number, b2: number, eps: number) {
  let x = x0, m = 0, v = 0;
  const xs: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradientAt(x);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    x -= (lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t)) * m / (Math.sqrt(v) + eps);
    xs.push(x);
  }
  return xs;
}

describe('adamStep (tf.keras semantics)', () => {
  const settings = { learningRate: 0.02, beta1: 0.99, beta2: 0.999, epsilon: 0.1 };

  it('matches the closed form under a constant gradient', () => {
    // m_t = g(1-b1^t), v_t = g^2(1-b2^t), so each step moves lr*g*s/(|g|s + eps) with s = sqrt(1-b2^t).
    const g = 0.5;
    let x: tf.Tensor = tf.scalar(1);
    let state = zeroAdamState([]);
    let expected = 1;
    for (let t = 1; t <= 20; t++) {
      const next = adamStep(x, tf.scalar(g), state, t, settings);
      x = next.x;
      state = next.state;
      const s = Math.sqrt(1 - settings.beta2 ** t);
      expected -= (settings.learningRate * g * s) / (Math.abs(g) * s + settings.epsilon);
      assertClose(x.dataSync()[0], expected, 1e-5, `step ${t}`);
    }
  });

  it('follows the reference on the quadratic f(x) = (x - 3)^2 and differs from tfjs AdamOptimizer', () => {
    const gradientAt = (x: number) => 2 * (x - 3);
    const reference = kerasAdamReference(0, gradientAt, 50, settings.learningRate, settings.beta1, settings.beta2, settings.epsilon);
    let x: tf.Tensor = tf.scalar(0);
    let state = zeroAdamState([]);
    for (let t = 1; t <= 50; t++) {
      const next = adamStep(x, tf.scalar(gradientAt(x.dataSync()[0])), state, t, settings);
      x = next.x;
      state = next.state;
      assertClose(x.dataSync()[0], reference[t - 1], 1e-5, `step ${t}`);
    }
    // tfjs' optimiser puts eps on the bias-corrected sqrt(v): a visibly different path.
    const variable = tf.variable(tf.scalar(0));
    const tfjsAdam = tf.train.adam(settings.learningRate, settings.beta1, settings.beta2, settings.epsilon);
    for (let t = 1; t <= 50; t++) tfjsAdam.minimize(() => tf.square(tf.sub(variable, 3)) as tf.Scalar);
    assert.ok(Math.abs(variable.dataSync()[0] - reference[49]) > 1e-3);
  });
});
