/**
 * An independent implementation of the TensorFlow tutorial's training loop,
 * for checking the engine: VGG19 as a tfjs-layers model loaded from the
 * model.json (Keras layers, built-in gradients), the tutorial's losses and
 * tf.keras Adam written out step by step. Slow, and only meant for tiny images.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../../src/engine';

const STYLE_LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'];
const CONTENT_LAYERS = ['block5_conv2'];

async function loadKerasVgg(dir: string): Promise<tf.LayersModel> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  const shards = await Promise.all(manifest.weightsManifest[0].paths.map((p: string) => readFile(path.join(dir, p))));
  const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
  return tf.loadLayersModel({
    load: async () => ({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightsManifest[0].weights, weightData }),
  });
}

export interface ReferenceEpoch { total: number; content: number; style: number; tv: number }

export async function referenceTutorialRun(
  modelDir: string, content: RgbImage, style: RgbImage, epochs: number, stepsPerEpoch: number,
): Promise<ReferenceEpoch[]> {
  const vgg = await loadKerasVgg(modelDir);
  const extractor = tf.model({
    inputs: vgg.inputs,
    outputs: [...STYLE_LAYERS, ...CONTENT_LAYERS].map((name) => vgg.getLayer(name).output as tf.SymbolicTensor),
  });
  const toImage = (rgb: RgbImage) => tf.tensor4d(Float32Array.from(rgb.data, (v) => v / 255), [1, rgb.height, rgb.width, 3]);
  const outputs = (image: tf.Tensor) => {
    // tf.keras.applications.vgg19.preprocess_input on image*255: RGB->BGR, minus the ImageNet means.
    const [r, g, b] = tf.split(tf.mul(image, 255), 3, 3);
    const bgr = tf.concat([tf.sub(b, 103.939), tf.sub(g, 116.779), tf.sub(r, 123.68)], 3);
    const all = extractor.predict(bgr) as tf.Tensor4D[];
    const grams = all.slice(0, STYLE_LAYERS.length).map((f) => {
      const [, h, w, c] = f.shape;
      const flat = tf.reshape(f, [h * w, c]);
      return tf.div(tf.matMul(tf.transpose(flat), flat), h * w);
    });
    return { grams, content: all.slice(STYLE_LAYERS.length) };
  };
  const styleTargets = outputs(toImage(style)).grams;
  const contentImage = toImage(content);
  const contentTargets = outputs(contentImage).content;
  const lossParts = (image: tf.Tensor) => {
    const out = outputs(image);
    const styleLoss = tf.mul(tf.addN(out.grams.map((g, i) => tf.mean(tf.square(tf.sub(g, styleTargets[i]))))), 1e-2 / STYLE_LAYERS.length);
    const contentLoss = tf.mul(tf.addN(out.content.map((f, i) => tf.mean(tf.square(tf.sub(f, contentTargets[i]))))), 1e4 / CONTENT_LAYERS.length);
    const [, h, w] = image.shape;
    const dy = tf.sub(tf.slice(image, [0, 1, 0, 0], [1, h - 1, w, 3]), tf.slice(image, [0, 0, 0, 0], [1, h - 1, w, 3]));
    const dx = tf.sub(tf.slice(image, [0, 0, 1, 0], [1, h, w - 1, 3]), tf.slice(image, [0, 0, 0, 0], [1, h, w - 1, 3]));
    const tv = tf.mul(tf.add(tf.sum(tf.abs(dy)), tf.sum(tf.abs(dx))), 30);
    return { style: styleLoss, content: contentLoss, tv, total: tf.add(tf.add(styleLoss, contentLoss), tv) as tf.Scalar };
  };
  let image = contentImage;
  let m = tf.zerosLike(image);
  let v = tf.zerosLike(image);
  const gradient = tf.grad((x) => lossParts(x).total);
  const epochsOut: ReferenceEpoch[] = [];
  for (let t = 1; t <= epochs * stepsPerEpoch; t++) {
    const g = gradient(image);
    m = tf.add(tf.mul(m, 0.99), tf.mul(g, 0.01));
    v = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
    const lr = (0.02 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.99 ** t);
    image = tf.clipByValue(tf.sub(image, tf.div(tf.mul(m, lr), tf.add(tf.sqrt(v), 0.1))), 0, 1) as tf.Tensor4D;
    if (t % stepsPerEpoch === 0) {
      const parts = lossParts(image);
      epochsOut.push({
        total: parts.total.dataSync()[0], content: parts.content.dataSync()[0],
        style: parts.style.dataSync()[0], tv: parts.tv.dataSync()[0],
      });
    }
  }
  return epochsOut;
}
