/**
 * Parameters of one style transfer. Defaults are exactly those of the
 * TensorFlow tutorial "Neural style transfer" (Gatys et al. 2015); everything
 * beyond the tutorial is off by default.
 */

export type InitMode = 'content' | 'noise' | 'style';
export type Pooling = 'max' | 'avg';
/**
 * How a run makes its image: 'optimize' is Gatys et al.'s optimisation (the
 * tutorial); 'fast' is one pass through a trained feed-forward network (the
 * preset), no optimisation; 'fast-then-optimize' optimises from the network's
 * result, with the network's painting as the style.
 */
export type RunMode = 'optimize' | 'fast' | 'fast-then-optimize';
export const RUN_MODES: readonly RunMode[] = ['optimize', 'fast', 'fast-then-optimize'];

/** The optimiser of the image (src/engine/optimizers.ts). */
export type OptimizerName = 'adam' | 'lbfgs';
export const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'lbfgs'];

/** Adam's learning rate is the tutorial's; L-BFGS takes full steps, as neural-style does. */
export const DEFAULT_LEARNING_RATE: Readonly<Record<OptimizerName, number>> = { adam: 0.02, lbfgs: 1 };

export interface LayerWeight {
  layer: string;
  weight: number;
}

export interface TransferParams {
  /** The longer image side after scaling (bilinear). */
  maxDim: number;
  epochs: number;
  stepsPerEpoch: number;
  contentLayers: LayerWeight[];
  styleLayers: LayerWeight[];
  contentWeight: number;
  styleWeight: number;
  totalVariationWeight: number;
  /** ADAM, the tutorial's, or L-BFGS (as neural-style runs it); each step is one evaluation of the loss and its gradient. */
  optimizer: OptimizerName;
  /** The optimiser's step size; left out (or null), that optimiser's default: 0.02 for Adam (the tutorial's), 1 for L-BFGS. */
  learningRate: number;
  /** Adam's. */
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Curvature pairs L-BFGS keeps. */
  lbfgsHistory: number;
  init: InitMode;
  /** Seeds the noise initialisation; recorded so a run can be repeated. */
  seed: number;
  /** One weight per style image; null blends them equally. */
  styleBlend: number[] | null;
  /** Style images are scaled to styleScale * maxDim on their longer side. */
  styleScale: number;
  /** Keep the content's colours: transfer luminance only. */
  preserveColors: boolean;
  /** Number of sizes to optimise at (1 = off); each doubles up to maxDim. */
  multiscale: number;
  pooling: Pooling;
  mode: RunMode;
  /**
   * The fast-style network of the fast modes: the name of its folder (e.g.
   * "wave"); null in mode 'optimize'. Only its form is checked here: whether
   * such a network exists is for whoever knows the models folder.
   */
  preset: string | null;
  /**
   * In a run over an animation, how strongly each frame is held to the
   * previous frame's result carried along the content's motion (optical
   * flow), where the content did not change along it (engine/temporal);
   * above 0, mode 'optimize' also starts each frame from that carried result.
   * 0 paints every frame on its own. A still image has no previous frame.
   */
  temporalWeight: number;
}

/**
 * The style images of a fast mode, given the preset's painting: the painting
 * when there is one; none in mode 'fast' (its losses are then zero); in mode
 * 'fast-then-optimize', which optimises towards it, a ParamError.
 */
export function presetStyles<T>(params: TransferParams, painting: T | null): T[] {
  if (painting !== null) return [painting];
  if (params.mode === 'fast') return [];
  throw new ParamError('preset', `the network "${params.preset}" comes without its painting (style.jpg), which mode ${params.mode} optimises towards`);
}

/** Whether the mode starts from a fast-style network (and so needs a preset). */
export function isFastMode(mode: RunMode): boolean {
  return mode !== 'optimize';
}

export const VGG19_CONV_LAYERS = [
  'block1_conv1', 'block1_conv2',
  'block2_conv1', 'block2_conv2',
  'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_conv4',
  'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_conv4',
  'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4',
] as const;

export const DEFAULT_PARAMS: Readonly<TransferParams> = Object.freeze({
  maxDim: 512,
  epochs: 10,
  stepsPerEpoch: 100,
  contentLayers: [{ layer: 'block5_conv2', weight: 1 }],
  styleLayers: ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']
    .map((layer) => ({ layer, weight: 1 })),
  contentWeight: 1e4,
  styleWeight: 1e-2,
  totalVariationWeight: 30,
  optimizer: 'adam',
  learningRate: DEFAULT_LEARNING_RATE.adam,
  beta1: 0.99,
  beta2: 0.999,
  epsilon: 0.1,
  lbfgsHistory: 100,
  init: 'content',
  seed: 0,
  styleBlend: null,
  styleScale: 1,
  preserveColors: false,
  multiscale: 1,
  pooling: 'max',
  mode: 'optimize',
  preset: null,
  temporalWeight: 1e11,
});

/** Invalid input, naming the offending field (e.g. `epochs`, `styleBlend[1]`). */
export class ParamError extends Error {
  /** `problem`: what is wrong, without the field's name (the message is "field: problem"), for callers that name the field their own way. */
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'ParamError';
  }
}

type Check = (value: unknown, field: string) => void;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function number(min: number, max: number, { integer = false, minExclusive = false } = {}): Check {
  return (value, field) => {
    if (!isFiniteNumber(value)) throw new ParamError(field, 'must be a finite number');
    if (integer && !Number.isInteger(value)) throw new ParamError(field, 'must be an integer');
    if (minExclusive ? value <= min : value < min) {
      throw new ParamError(field, `must be ${minExclusive ? 'greater than' : 'at least'} ${min}`);
    }
    if (value > max) throw new ParamError(field, `must be at most ${max}`);
  };
}

function oneOf(...allowed: string[]): Check {
  return (value, field) => {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw new ParamError(field, `must be one of ${allowed.join(', ')}`);
    }
  };
}

const layerList: Check = (value, field) => {
  if (!Array.isArray(value) || value.length === 0) throw new ParamError(field, 'must be a non-empty list of layers');
  const seen = new Set<string>();
  value.forEach((entry: Partial<LayerWeight>, i) => {
    const at = `${field}[${i}]`;
    if (typeof entry?.layer !== 'string' || !(VGG19_CONV_LAYERS as readonly string[]).includes(entry.layer)) {
      throw new ParamError(`${at}.layer`, `must be a VGG19 conv layer (${VGG19_CONV_LAYERS[0]} .. ${VGG19_CONV_LAYERS.at(-1)})`);
    }
    if (seen.has(entry.layer)) throw new ParamError(`${at}.layer`, `${entry.layer} is listed twice`);
    seen.add(entry.layer);
    number(0, 1e12)(entry.weight, `${at}.weight`);
  });
};

const blend: Check = (value, field) => {
  if (value === null) return;
  if (!Array.isArray(value) || value.length === 0) throw new ParamError(field, 'must be a non-empty list of weights or null');
  value.forEach((weight, i) => number(0, 1e12)(weight, `${field}[${i}]`));
  if (!value.some((weight) => weight > 0)) throw new ParamError(field, 'needs at least one positive weight');
};

const boolean: Check = (value, field) => {
  if (typeof value !== 'boolean') throw new ParamError(field, 'must be true or false');
};

/** A network's folder name: no path separators, no leading dot. */
const PRESET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const presetName: Check = (value, field) => {
  if (value === null) return;
  if (typeof value !== 'string' || !PRESET_NAME.test(value)) {
    throw new ParamError(field, 'must be the name of a fast-style network (letters, digits, ".", "_", "-"; at most 100)');
  }
};

/** Smallest image side the engine optimises at: VGG19 pools four times before block5. */
export const MIN_DIM = 16;

const CHECKS: Record<keyof TransferParams, Check> = {
  maxDim: number(MIN_DIM, 8192, { integer: true }),
  epochs: number(1, 100_000, { integer: true }),
  stepsPerEpoch: number(1, 1_000_000, { integer: true }),
  contentLayers: layerList,
  styleLayers: layerList,
  contentWeight: number(0, 1e12),
  styleWeight: number(0, 1e12),
  totalVariationWeight: number(0, 1e12),
  optimizer: oneOf(...OPTIMIZERS),
  learningRate: number(0, 1e3, { minExclusive: true }),
  beta1: number(0, 0.999999),
  beta2: number(0, 0.999999),
  epsilon: number(0, 1e3, { minExclusive: true }),
  lbfgsHistory: number(1, 1000, { integer: true }),
  init: oneOf('content', 'noise', 'style'),
  seed: number(0, 2 ** 32 - 1, { integer: true }),
  styleBlend: blend,
  styleScale: number(0.05, 8, { minExclusive: true }),
  preserveColors: boolean,
  multiscale: number(1, 8, { integer: true }),
  pooling: oneOf('max', 'avg'),
  mode: oneOf(...RUN_MODES),
  preset: presetName,
  temporalWeight: number(0, 1e12),
};

/** What a caller may set: any parameter; a null learningRate asks for the optimiser's default. */
export type PartialParams = Partial<Omit<TransferParams, 'learningRate'>> & { learningRate?: number | null };

/**
 * Fills in the defaults and validates every field, so that nothing downstream
 * (a stored run, a worker) ever sees an invalid parameter set.
 * Throws ParamError naming the first offending field.
 */
export function resolveParams(partial: PartialParams = {}): TransferParams {
  for (const key of Object.keys(partial)) {
    if (!(key in CHECKS)) throw new ParamError(key, 'is not a parameter');
  }
  const params = { ...DEFAULT_PARAMS } as TransferParams;
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (params as unknown as Record<string, unknown>)[key] = value;
  }
  // The learning rate belongs to the optimiser: unset, it is that optimiser's default.
  if (partial.learningRate === undefined || partial.learningRate === null) params.learningRate = DEFAULT_LEARNING_RATE[params.optimizer] ?? params.learningRate;
  // A FAST run is one pass: one epoch, at one size; the optimisation's settings only weigh its reported losses.
  if (params.mode === 'fast') Object.assign(params, { epochs: 1, multiscale: 1 });
  for (const [key, check] of Object.entries(CHECKS)) check(params[key as keyof TransferParams], key);
  if (isFastMode(params.mode) && params.preset === null) {
    throw new ParamError('preset', `is required in mode ${params.mode} (the name of a fast-style network)`);
  }
  if (!isFastMode(params.mode) && params.preset !== null) {
    throw new ParamError('preset', 'is used only in the fast modes (fast, fast-then-optimize); set mode too');
  }
  if (params.epochs < params.multiscale) {
    throw new ParamError('multiscale', `needs at least one epoch per scale (epochs is ${params.epochs})`);
  }
  if (params.maxDim / 2 ** (params.multiscale - 1) < MIN_DIM) {
    throw new ParamError('multiscale', `the smallest scale would be under ${MIN_DIM} px at maxDim ${params.maxDim}`);
  }
  return params;
}
