import * as tf from '@tensorflow/tfjs';
import { VGG19_CONV_LAYERS, type Pooling } from './params';
import { avgPool2x2, avgPool2x2Gradient, convRelu, maxPool2x2, maxPool2x2Gradient, type ConvRelu } from './layers';
import { loadVgg19Weights, type Vgg19Source, type Vgg19Weights } from './weights';

/** Keras "caffe" preprocessing: BGR channel means of ImageNet, on 0..255 pixels. */
const IMAGENET_MEAN_BGR = [103.939, 116.779, 123.68];
/** The same means in RGB order on 0..1 pixels. */
const IMAGENET_MEAN_RGB_UNIT = IMAGENET_MEAN_BGR.map((mean) => mean / 255).reverse();

export type Features = Record<string, tf.Tensor4D>;

export interface Vgg19 {
  /** Names of the conv layers this network holds, in order. */
  readonly layers: readonly string[];
  /**
   * Activations (after ReLU) of the named layers for an RGB image batch with
   * pixels in 0..1. Computes only as deep as the deepest layer asked for, and
   * releases the activations of the other layers as it goes.
   */
  features(image: tf.Tensor4D, layers: readonly string[], pooling?: Pooling): Features;
  /** The same forward pass, keeping what its backward pass needs. */
  trace(image: tf.Tensor4D, layers: readonly string[], pooling?: Pooling): Vgg19Trace;
  dispose(): void;
}

export interface Vgg19Trace {
  /** The named layers' activations; they belong to the trace. */
  readonly features: Features;
  /**
   * The gradient with respect to the image of a loss whose gradients with
   * respect to (some of) the named layers' activations are `gradients`
   * (which it consumes). Each intermediate gradient is released as soon as
   * the next is made, and each layer's activations once the pass is below
   * it, so that its peak is the forward pass's. Once only: the features are
   * gone afterwards.
   */
  backward(gradients: Features): tf.Tensor4D;
  /** Releases what is left of the activations. */
  dispose(): void;
}

/** What one conv layer of a traced forward pass saw. */
interface TracedLayer {
  name: string;
  /** The layer's input, and, where a pooling made it, the pooling's input (the previous layer's output). */
  input: tf.Tensor4D;
  pooledFrom: tf.Tensor4D | null;
  output: tf.Tensor4D;
}

/**
 * Keras' preprocessing, 255 * RGB->BGR(x) - mean, is folded into the first
 * layer: its input is x minus the means (in RGB order, on 0..1), and its
 * kernel takes the factor 255 and the channel order. Zero padding stays
 * exact (the padded value of x - mean is the padded value of the
 * preprocessed image, 0), and two passes over the image, with the backend's
 * slow channel reverse, drop out of every step.
 */
function firstLayerKernel(kernel: Float32Array, [height, width, inChannels, outChannels]: number[]): Float32Array {
  const folded = new Float32Array(kernel.length);
  for (let position = 0; position < height * width; position++) {
    for (let c = 0; c < inChannels; c++) {
      const from = (position * inChannels + (inChannels - 1 - c)) * outChannels;
      const to = (position * inChannels + c) * outChannels;
      for (let o = 0; o < outChannels; o++) folded[to + o] = 255 * kernel[from + o];
    }
  }
  return folded;
}

function convLayer(name: string, weights: Vgg19Weights): ConvRelu {
  const w = weights.get(name);
  if (!w) throw new Error(`VGG19 weights lack layer ${name}`);
  return convRelu(name === VGG19_CONV_LAYERS[0] ? firstLayerKernel(w.kernel, w.kernelShape) : w.kernel, w.kernelShape, w.bias);
}

/** Builds the network from plain weight arrays; tensors live until dispose(). */
export function createVgg19(weights: Vgg19Weights): Vgg19 {
  const layers: string[] = VGG19_CONV_LAYERS.filter((name) => weights.has(name));
  const conv = new Map(layers.map((name) => [name, convLayer(name, weights)]));
  const mean = tf.tensor1d(IMAGENET_MEAN_RGB_UNIT);

  const layersUpTo = (wanted: readonly string[]) => {
    const deepest = Math.max(...wanted.map((name) => {
      const index = layers.indexOf(name);
      if (index < 0) throw new Error(`VGG19 has no loaded layer ${name}`);
      return index;
    }));
    return layers.slice(0, deepest + 1);
  };
  /** Calls `visit` with each layer's input, pooling input and output, in order; returns nothing it keeps. */
  const forward = (image: tf.Tensor4D, wanted: readonly string[], pooling: Pooling, visit: (layer: TracedLayer) => void) => {
    // Keras' vgg19.preprocess_input, with the scaling and channel order in the first kernel.
    let x = tf.sub(image, mean) as tf.Tensor4D;
    for (const name of layersUpTo(wanted)) {
      // Each block after the first starts with 2x2 pooling.
      const pooledFrom = name.endsWith('_conv1') && name !== 'block1_conv1' ? x : null;
      const input = pooledFrom ? (pooling === 'max' ? maxPool2x2(pooledFrom) : avgPool2x2(pooledFrom)) : x;
      x = conv.get(name)!.forward(input);
      visit({ name, input, pooledFrom, output: x });
    }
  };

  return {
    layers,
    features(image, wanted, pooling = 'max') {
      const out: Features = {};
      let previous: tf.Tensor4D | undefined;
      forward(image, wanted, pooling, ({ name, input, pooledFrom, output }) => {
        // Each layer's input (and what was pooled) is released once its output exists, unless asked for.
        for (const done of new Set([input, pooledFrom, previous])) {
          if (done && done !== image && !Object.values(out).includes(done)) done.dispose();
        }
        if (wanted.includes(name)) out[name] = output;
        previous = output;
      });
      return out;
    },
    trace(image, wanted, pooling = 'max') {
      const traced: TracedLayer[] = [];
      forward(image, wanted, pooling, (layer) => traced.push(layer));
      const features: Features = Object.fromEntries(traced.filter((l) => wanted.includes(l.name)).map((l) => [l.name, l.output]));
      const dispose = () => tf.dispose(traced.flatMap((l) => [l.input, l.output]));
      return {
        features,
        backward(gradients) {
          let gradient: tf.Tensor4D | undefined;
          for (let i = traced.length - 1; i >= 0; i--) {
            const { name, input, pooledFrom, output } = traced[i];
            const own = gradients[name];
            if (own) {
              const sum = gradient ? (tf.add(gradient, own) as tf.Tensor4D) : own;
              if (gradient) tf.dispose([gradient, own]);
              gradient = sum;
            }
            if (!gradient) continue;
            const inputGradient = conv.get(name)!.inputGradient(gradient, output);
            gradient.dispose();
            output.dispose();
            if (pooledFrom) {
              gradient = pooling === 'max' ? maxPool2x2Gradient(inputGradient, pooledFrom, input) : avgPool2x2Gradient(inputGradient, pooledFrom);
              inputGradient.dispose();
            } else {
              gradient = inputGradient;
            }
            // A pooled input is this layer's own; otherwise it is the previous layer's output (or, first, the preprocessed image).
            if (pooledFrom || i === 0) input.dispose();
          }
          // The first layer's input is the image minus a constant: the same gradient.
          return gradient ?? tf.zerosLike(image);
        },
        dispose,
      };
    },
    dispose() {
      for (const layer of conv.values()) layer.dispose();
      mean.dispose();
    },
  };
}

/** Loads VGG19 from a layers-model directory or the Keras .h5 (see weights/locate). */
export async function loadVgg19(source?: Vgg19Source): Promise<Vgg19> {
  return createVgg19(await loadVgg19Weights(source));
}
