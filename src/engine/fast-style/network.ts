/** The fast-style network's forward pass, built from its weights. */
import { basename, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { rgbToTensor, tensorToRgb } from '../pixels';
import type { RgbImage } from '../types';
import { FAST_STYLE_LAYERS, RESIDUAL_BLOCK_NUMBERS, residualLayerNames, type LayerSpec } from './architecture';
import { subPixelKernel, transposedConv2x } from './transposed-conv';
import { readFastStyleWeights, type FastStyleWeights, type LayerWeights } from './variables';

const INSTANCE_NORM_EPSILON = 1e-3;
/**
 * Mirrored pixels put around the image before the pass and cut off after.
 * The networks were trained with zero padding at every convolution, which
 * at an image's edge reads as a black frame: without this, results have a
 * ring of strokes along their edges (la_muse's worst: on a 256 px photo the
 * outer 8 px differ from the same pass with the edge 112 px away by 50/255
 * on average, 15 with 32 px, 7.5 with 48; the rest of the image, 7-10 in each
 * case). 32 px removes most of it at 1.3x the pixels of a 640x360 frame.
 */
export const MIRRORED_MARGIN = 32;

export interface FastStyleNetwork {
  /** The network's folder name, e.g. "la_muse". */
  readonly name: string;
  /** The image in the network's style, in one pass (with MIRRORED_MARGIN around it), exactly the input's size. */
  stylize(image: RgbImage): RgbImage;
  /** The same on a tensor: [1, h, w, 3] pixels 0..1 in, the same shape out; the caller disposes it. */
  stylizeTensor(image: tf.Tensor4D): tf.Tensor4D;
  /** Frees the weights; the network cannot be used after. */
  dispose(): void;
}

/** One step of the forward pass. */
type Block = (x: tf.Tensor4D) => tf.Tensor4D;

interface Layer {
  apply: Block;
  /** The layer's own tensors, freed by the network's dispose(). */
  tensors: tf.Tensor[];
}

/**
 * Normalises each channel of the image over its height and width: batch norm
 * with the image's own statistics, which tfjs runs as one fused op. The batch
 * is one image (stylizeTensor checks), so statistics over the batch too are
 * the image's.
 */
function instanceNorm(x: tf.Tensor4D, shift: tf.Tensor1D, scale: tf.Tensor1D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x, mean as tf.Tensor1D, variance as tf.Tensor1D, shift, scale, INSTANCE_NORM_EPSILON);
}

/** conv ('same', stride 1 or 2) -> instance norm -> ReLU when the layer has one. */
function convLayer(spec: LayerSpec, weights: LayerWeights): Layer {
  const kernel = tf.tensor4d(weights.kernel, weights.kernelShape);
  return normalizedLayer(spec, weights, kernel, (x) => tf.conv2d(x, kernel, spec.stride, 'same'));
}

/** Stride-2 transposed conv doubling height and width -> instance norm -> ReLU. */
function upsamplingLayer(spec: LayerSpec, weights: LayerWeights): Layer {
  const kernel = tf.tidy(() => subPixelKernel(tf.tensor4d(weights.kernel, weights.kernelShape)));
  return normalizedLayer(spec, weights, kernel, (x) => transposedConv2x(x, kernel));
}

function normalizedLayer(spec: LayerSpec, weights: LayerWeights, kernel: tf.Tensor4D, convolve: Block): Layer {
  const shift = tf.tensor1d(weights.shift);
  const scale = tf.tensor1d(weights.scale);
  return {
    apply: (x) => tf.tidy(() => {
      const normalized = instanceNorm(convolve(x), shift, scale);
      return spec.relu ? tf.relu(normalized) : normalized;
    }),
    tensors: [kernel, shift, scale],
  };
}

/** x + second(first(x)). */
function residualBlock(first: Layer, second: Layer): Block {
  return (x) => tf.tidy(() => tf.add(x, second.apply(first.apply(x))));
}

/** Pixels 0..1 -> the network's 0..255 input. */
const toNetworkInput: Block = (image) => tf.mul(image, 255);

/** The last layer's output -> pixels 0..1, as the network was trained: tanh scaled around mid-grey. */
const toPixels: Block = (x) => tf.tidy(() => tf.div(tf.clipByValue(tf.add(tf.mul(tf.tanh(x), 150), 127.5), 0, 255), 255));

/**
 * Runs the blocks in turn, freeing each intermediate image as soon as the next
 * exists: one tf.tidy around the whole pass would keep all of them alive
 * together, several times the memory a large image needs.
 */
function runBlocks(input: tf.Tensor4D, blocks: Block[]): tf.Tensor4D {
  return blocks.reduce((x, block) => {
    const next = block(x);
    if (x !== input) x.dispose();
    return next;
  }, input);
}

/** Builds the network from plain weights; its tensors live until dispose(). */
export function createFastStyleNetwork(name: string, weights: FastStyleWeights): FastStyleNetwork {
  const missing = FAST_STYLE_LAYERS.filter((spec) => !weights.has(spec.name)).map((spec) => spec.name);
  if (missing.length) throw new Error(`fast-style weights lack layers ${missing.join(', ')}`);
  const layers = new Map(FAST_STYLE_LAYERS.map((spec) => {
    const layerWeights = weights.get(spec.name)!;
    return [spec.name, spec.kind === 'conv' ? convLayer(spec, layerWeights) : upsamplingLayer(spec, layerWeights)];
  }));
  const layer = (layerName: string): Layer => layers.get(layerName)!;
  const blocks: Block[] = [
    toNetworkInput,
    layer('conv1').apply, layer('conv2').apply, layer('conv3').apply,
    ...RESIDUAL_BLOCK_NUMBERS.map((block) => {
      const [first, second] = residualLayerNames(block);
      return residualBlock(layer(first), layer(second));
    }),
    layer('upsample1').apply, layer('upsample2').apply, layer('output').apply,
    toPixels,
  ];

  function stylizeTensor(image: tf.Tensor4D): tf.Tensor4D {
    const [batch, height, width, channels] = image.shape;
    if (batch !== 1 || channels !== 3) throw new RangeError(`expected one RGB image [1, h, w, 3], got [${image.shape}]`);
    // Mirroring repeats no edge pixel, so it can add at most one less than the side.
    const [top, left] = [Math.min(MIRRORED_MARGIN, height - 1), Math.min(MIRRORED_MARGIN, width - 1)];
    const framed = tf.mirrorPad(image, [[0, 0], [top, top], [left, left], [0, 0]], 'reflect');
    const styled = runBlocks(framed, blocks);
    framed.dispose();
    // The stride-2 steps round odd sizes up, so the output can be up to 3 pixels
    // larger. TF's 'same' padding puts any extra at the bottom and right: the
    // pixels that match the input's start at the margin's top-left corner.
    const cropped = tf.slice(styled, [0, top, left, 0], [1, height, width, 3]);
    styled.dispose();
    return cropped;
  }

  return {
    name,
    stylizeTensor,
    stylize(image) {
      const input = rgbToTensor(image);
      const styled = stylizeTensor(input);
      input.dispose();
      const output = tensorToRgb(styled);
      styled.dispose();
      return output;
    },
    dispose() {
      for (const { tensors } of layers.values()) tf.dispose(tensors);
    },
  };
}

/** Loads the network in `dir` (manifest.json plus one raw float32 file per variable), checking its architecture. */
export async function loadFastStyleNetwork(dir: string): Promise<FastStyleNetwork> {
  const path = resolve(dir);
  return createFastStyleNetwork(basename(path), await readFastStyleWeights(path));
}
