/**
 * What every VGG19 weights reader returns, and the shape checks they share.
 * Plain arrays only: the engine builds its own forward pass from them.
 */
import { VGG19_CONV_LAYERS } from '../params';

export type Vgg19LayerName = (typeof VGG19_CONV_LAYERS)[number];

export interface ConvWeights {
  kernel: Float32Array;
  /** [3, 3, in, out]: HWIO, as NHWC convolutions take it. */
  kernelShape: [number, number, number, number];
  /** One value per output channel. */
  bias: Float32Array;
}

/** Conv layers by name ('block1_conv1' ... 'block5_conv4'), in network order. */
export type Vgg19Weights = Map<string, ConvWeights>;

export interface Vgg19Source {
  kind: 'layers-model' | 'keras-h5';
  /** The layers-model directory (holding model.json) or the .h5 file. */
  path: string;
}

/** A weights file that cannot be used; the message names the file and what is wrong with it. */
export class WeightsFormatError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'WeightsFormatError';
  }
}

/** A tensor as a reader found it, before its shape is checked. */
export interface RawTensor {
  shape: number[];
  values: Float32Array;
}

/**
 * Checks that `layers` are VGG19 conv layer names and returns them in network
 * order without repeats, so readers can rely on the order when chaining channels.
 */
export function vgg19LayerList(layers: readonly string[]): Vgg19LayerName[] {
  for (const layer of layers) {
    if (!(VGG19_CONV_LAYERS as readonly string[]).includes(layer)) {
      throw new RangeError(`"${layer}" is not a VGG19 conv layer; expected one of ${VGG19_CONV_LAYERS.join(', ')}`);
    }
  }
  return VGG19_CONV_LAYERS.filter((layer) => layers.includes(layer));
}

/**
 * Builds the weights of `layers` from the tensors a reader found for each,
 * checking that kernels are 3x3 HWIO, that biases match the kernels' output
 * channels, that block1_conv1 takes RGB, and that each layer takes the
 * channels the layer before it in VGG19 gives (when both are loaded). Channel
 * counts are not pinned to the real 64..512, so tiny test networks pass.
 */
export function assembleVgg19Weights(
  path: string,
  layers: readonly string[],
  tensorsOf: (layer: Vgg19LayerName) => { kernel: RawTensor; bias: RawTensor },
): Vgg19Weights {
  const weights: Vgg19Weights = new Map();
  for (const layer of vgg19LayerList(layers)) {
    const { kernel, bias } = tensorsOf(layer);
    const kernelShape = checkKernelShape(path, layer, kernel);
    const outChannels = kernelShape[3];
    if (bias.shape.length !== 1 || bias.shape[0] !== outChannels || bias.values.length !== outChannels) {
      throw new WeightsFormatError(
        path,
        `${layer} bias has shape [${bias.shape}] (${bias.values.length} values); expected [${outChannels}] to match its kernel`,
      );
    }
    weights.set(layer, { kernel: kernel.values, kernelShape, bias: bias.values });
  }
  checkChannelChain(path, weights);
  return weights;
}

function checkKernelShape(path: string, layer: string, kernel: RawTensor): ConvWeights['kernelShape'] {
  const { shape, values } = kernel;
  const isHwio3x3 = shape.length === 4 && shape[0] === 3 && shape[1] === 3
    && shape.every((size) => Number.isInteger(size) && size > 0);
  if (!isHwio3x3) {
    throw new WeightsFormatError(path, `${layer} kernel has shape [${shape}]; expected [3, 3, in, out]`);
  }
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (values.length !== size) {
    throw new WeightsFormatError(path, `${layer} kernel [${shape}] needs ${size} values, found ${values.length}`);
  }
  return [shape[0], shape[1], shape[2], shape[3]];
}

function checkChannelChain(path: string, weights: Vgg19Weights): void {
  const first = weights.get('block1_conv1');
  if (first && first.kernelShape[2] !== 3) {
    throw new WeightsFormatError(path, `block1_conv1 takes ${first.kernelShape[2]} input channels; expected 3 (RGB)`);
  }
  VGG19_CONV_LAYERS.forEach((layer, index) => {
    const previousLayer = VGG19_CONV_LAYERS[index - 1];
    const current = weights.get(layer);
    const previous = previousLayer && weights.get(previousLayer);
    if (current && previous && current.kernelShape[2] !== previous.kernelShape[3]) {
      throw new WeightsFormatError(
        path,
        `${layer} takes ${current.kernelShape[2]} input channels but ${previousLayer} gives ${previous.kernelShape[3]}`,
      );
    }
  });
}
