import * as tf from '@tensorflow/tfjs';
import { VGG19_CONV_LAYERS, type Pooling } from './params';
import { loadVgg19Weights, type Vgg19Source, type Vgg19Weights } from './weights';

/** Keras "caffe" preprocessing: BGR channel means of ImageNet, on 0..255 pixels. */
const IMAGENET_MEAN_BGR = [103.939, 116.779, 123.68];

export type Features = Record<string, tf.Tensor4D>;

export interface Vgg19 {
  /** Names of the conv layers this network holds, in order. */
  readonly layers: readonly string[];
  /**
   * Activations (after ReLU) of the named layers for an RGB image batch with
   * pixels in 0..1. Computes only as deep as the deepest layer asked for.
   * Differentiable with respect to the image.
   */
  features(image: tf.Tensor4D, layers: readonly string[], pooling?: Pooling): Features;
  dispose(): void;
}

interface ConvLayer {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
  /**
   * The kernel rotated by 180 degrees with its in/out channels swapped: the
   * input gradient of a stride-1 'same' 3x3 convolution is a forward
   * convolution of the output gradient with it. On wasm this runs about ten
   * times faster than the built-in Conv2DBackpropInput kernel and gives the
   * same values (see shared notes on TensorFlow.js).
   */
  inputGradientKernel: tf.Tensor4D;
  /** conv + bias + ReLU, with the fast input gradient above. */
  apply: (x: tf.Tensor4D) => tf.Tensor4D;
}

function convLayer(name: string, weights: Vgg19Weights): ConvLayer {
  const w = weights.get(name);
  if (!w) throw new Error(`VGG19 weights lack layer ${name}`);
  const kernel = tf.tensor4d(w.kernel, w.kernelShape);
  const bias = tf.tensor1d(w.bias);
  const inputGradientKernel = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  const apply = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const y = tf.fused.conv2d({ x, filter: kernel, bias, strides: 1, pad: 'same', activation: 'relu' });
    save([y]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [activated] = saved as tf.Tensor4D[];
        const beforeRelu = tf.mul(dy, tf.step(activated)) as tf.Tensor4D;
        return tf.conv2d(beforeRelu, inputGradientKernel, 1, 'same');
      },
    };
  }) as (x: tf.Tensor4D) => tf.Tensor4D;
  return { kernel, bias, inputGradientKernel, apply };
}

/** Builds the network from plain weight arrays; tensors live until dispose(). */
export function createVgg19(weights: Vgg19Weights): Vgg19 {
  const layers: string[] = VGG19_CONV_LAYERS.filter((name) => weights.has(name));
  const conv = new Map(layers.map((name) => [name, convLayer(name, weights)]));
  const mean = tf.tensor1d(IMAGENET_MEAN_BGR);

  return {
    layers,
    features(image, wanted, pooling = 'max') {
      const deepest = Math.max(...wanted.map((name) => {
        const index = layers.indexOf(name);
        if (index < 0) throw new Error(`VGG19 has no loaded layer ${name}`);
        return index;
      }));
      const out: Features = {};
      // RGB 0..1 -> BGR 0..255 minus the ImageNet mean, as Keras' vgg19.preprocess_input.
      let x = tf.sub(tf.reverse(tf.mul(image, 255), -1), mean) as tf.Tensor4D;
      for (const name of layers.slice(0, deepest + 1)) {
        // Each block after the first starts with 2x2 pooling.
        if (name.endsWith('_conv1') && name !== 'block1_conv1') {
          x = pooling === 'max' ? tf.maxPool(x, 2, 2, 'valid') : tf.avgPool(x, 2, 2, 'valid');
        }
        x = conv.get(name)!.apply(x);
        if (wanted.includes(name)) out[name] = x;
      }
      return out;
    },
    dispose() {
      for (const layer of conv.values()) tf.dispose([layer.kernel, layer.bias, layer.inputGradientKernel]);
      mean.dispose();
    },
  };
}

/** Loads VGG19 from a layers-model directory or the Keras .h5 (see weights/locate). */
export async function loadVgg19(source?: Vgg19Source): Promise<Vgg19> {
  return createVgg19(await loadVgg19Weights(source));
}
