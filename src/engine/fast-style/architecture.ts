/**
 * The fast feed-forward style network (Johnson et al. 2016, "Perceptual
 * Losses for Real-Time Style Transfer", as trained by L. Engstrom's
 * fast-style-transfer) and the variables it is stored as.
 */

/**
 * One convolution followed by instance norm (and ReLU when `relu`). An
 * 'upsample' layer is a stride-2 transposed convolution doubling height and width.
 * Every convolution has 'same' padding and no bias: instance norm's shift takes its place.
 */
export interface LayerSpec {
  name: string;
  kind: 'conv' | 'upsample';
  kernelSize: number;
  stride: 1 | 2;
  inChannels: number;
  outChannels: number;
  relu: boolean;
}

const RESIDUAL_BLOCKS = 5;
const RESIDUAL_CHANNELS = 128;

function conv(name: string, kernelSize: number, stride: 1 | 2, inChannels: number, outChannels: number, relu = true): LayerSpec {
  return { name, kind: 'conv', kernelSize, stride, inChannels, outChannels, relu };
}

function upsample(name: string, inChannels: number, outChannels: number): LayerSpec {
  return { name, kind: 'upsample', kernelSize: 3, stride: 2, inChannels, outChannels, relu: true };
}

/** Residual block `n` (1-based) is `residual<n>a` then `residual<n>b`, plus the block's input. */
export function residualLayerNames(block: number): [string, string] {
  return [`residual${block}a`, `residual${block}b`];
}

export const RESIDUAL_BLOCK_NUMBERS = Array.from({ length: RESIDUAL_BLOCKS }, (_, index) => index + 1);

/** The layers in the order their variables are numbered. */
export const FAST_STYLE_LAYERS: readonly LayerSpec[] = [
  conv('conv1', 9, 1, 3, 32),
  conv('conv2', 3, 2, 32, 64),
  conv('conv3', 3, 2, 64, RESIDUAL_CHANNELS),
  ...RESIDUAL_BLOCK_NUMBERS.flatMap((block) => {
    const [first, second] = residualLayerNames(block);
    return [
      conv(first, 3, 1, RESIDUAL_CHANNELS, RESIDUAL_CHANNELS),
      conv(second, 3, 1, RESIDUAL_CHANNELS, RESIDUAL_CHANNELS, false),
    ];
  }),
  upsample('upsample1', RESIDUAL_CHANNELS, 64),
  upsample('upsample2', 64, 32),
  conv('output', 9, 1, 32, 3, false),
];

export type VariableRole = 'kernel' | 'shift' | 'scale';

export interface VariableSpec {
  /** TensorFlow's automatic name: `Variable`, `Variable_1`, ... */
  name: string;
  layer: LayerSpec;
  role: VariableRole;
  shape: number[];
}

/**
 * Each layer owns three consecutive variables: its kernel, then instance
 * norm's shift and scale (created in that order by the training code).
 * Kernels are [h, w, in, out], except that transposed convolutions store
 * theirs as TensorFlow's conv2d_transpose takes it: [h, w, out, in].
 */
export const FAST_STYLE_VARIABLES: readonly VariableSpec[] = FAST_STYLE_LAYERS.flatMap((layer, index) => {
  const { kernelSize: k, inChannels, outChannels } = layer;
  const kernelShape = layer.kind === 'conv' ? [k, k, inChannels, outChannels] : [k, k, outChannels, inChannels];
  const roles: [VariableRole, number[]][] = [['kernel', kernelShape], ['shift', [outChannels]], ['scale', [outChannels]]];
  return roles.map(([role, shape], offset) => ({ name: variableName(3 * index + offset), layer, role, shape }));
});

function variableName(index: number): string {
  return index === 0 ? 'Variable' : `Variable_${index}`;
}
