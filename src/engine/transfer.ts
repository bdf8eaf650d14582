import * as tf from '@tensorflow/tfjs';
import { gramMatrix, gramMatrixGradient, meanSquaredError, totalVariation, totalVariationGradient } from './losses';
import { createOptimizer, type Optimizer } from './optimizers';
import { ParamError, type TransferParams } from './params';
import { fitSize, fitToMaxDim, matchedLuminanceImage, resizeTo, rgbToTensor, tensorToRgb, withColorsOf } from './pixels';
import { carryOver, temporalLoss, temporalLossGradient, temporalTarget, type CarriedFrame, type PreviousFrame, type TemporalTarget } from './temporal';
import type { Checkpoint, EpochEvent, LayerLosses, Losses, OptimizationEvent, RgbImage } from './types';
import type { Features, Vgg19 } from './vgg19';

export interface StylizeInput {
  content: RgbImage;
  styles: RgbImage[];
  params: TransferParams;
  /** Continue from here; only events after checkpoint.step are produced. */
  resume?: Checkpoint;
  /** Stops the run after the current step, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called when `signal` stops the run, just before it rejects, with the
   * state reached (mid-epoch, most likely), to resume from without losing
   * the steps taken since the last epoch. Not called if no step was taken.
   */
  onAbortCheckpoint?: (checkpoint: Checkpoint) => void;
  /**
   * Start from this image (scaled to the size optimised at) instead of what
   * params.init says: mode 'fast-then-optimize' passes the fast-style
   * network's result. Required in that mode unless resuming.
   */
  initImage?: RgbImage;
  /**
   * In a run over an animation, the frame before this one. With a
   * params.temporalWeight above 0, its result is carried along the content's
   * motion (temporal's carryOver): the image starts from it (unless
   * initImage is given) and is held to it, with that weight, where the
   * content stood still along the motion. The loss reported as total
   * includes that term.
   */
  previous?: PreviousFrame;
}

/** One size of the multi-scale schedule and the steps spent at it. */
interface Scale {
  maxDim: number;
  firstStep: number;
  endStep: number;
}

/**
 * Optimising at growing sizes: `multiscale` sizes, each twice the previous,
 * ending at maxDim. Epochs are shared out evenly, the larger sizes taking any
 * remainder, so a scale always ends on an epoch boundary.
 */
export function scaleSchedule(params: TransferParams): Scale[] {
  const count = params.multiscale;
  const scales: Scale[] = [];
  let step = 0;
  for (let i = 0; i < count; i++) {
    const epochs = Math.floor(params.epochs / count) + (i >= count - (params.epochs % count) ? 1 : 0);
    const steps = epochs * params.stepsPerEpoch;
    scales.push({ maxDim: Math.round(params.maxDim / 2 ** (count - 1 - i)), firstStep: step, endStep: step + steps });
    step += steps;
  }
  return scales;
}

/** Style images are scaled to styleScale times the size being optimised. */
export function styleMaxDim(maxDim: number, params: TransferParams): number {
  return Math.max(1, Math.round(maxDim * params.styleScale));
}

export interface ImageSize {
  width: number;
  height: number;
}

/** How callers name the images in errors (the engine's own names by default). */
export interface ImageFields {
  content: string;
  style: (index: number) => string;
}

/**
 * Refuses images that would be too small at some scale: VGG19 halves the
 * image before each block, so a layer of block b needs a shorter side of at
 * least 2^(b-1) pixels (16 for block5); smaller images would reach it with
 * no pixels at all. Needs only the sizes, so a service can check stored
 * images before it accepts a run.
 */
export function checkImagesFit(
  params: TransferParams,
  content: ImageSize,
  styles: ImageSize[],
  fields: ImageFields = { content: 'content', style: (i) => `styles[${i}]` },
): void {
  const layers = [...params.contentLayers, ...params.styleLayers].map((l) => l.layer);
  const deepestBlock = Math.max(...layers.map((name) => Number(name.slice('block'.length, name.indexOf('_')))));
  const minSide = 2 ** (deepestBlock - 1);
  const check = (image: ImageSize, maxDim: number, field: string, what: string) => {
    const { width, height } = fitSize(image.width, image.height, maxDim);
    if (Math.min(width, height) < minSide) {
      throw new ParamError(field, `${what} is ${width}x${height} px when scaled; block${deepestBlock} layers need a shorter side of at least ${minSide} px (raise maxDim or styleScale)`);
    }
  };
  // The first scale is the smallest.
  const smallest = scaleSchedule(params)[0].maxDim;
  check(content, smallest, fields.content, 'the content image');
  styles.forEach((style, i) => check(style, styleMaxDim(smallest, params), fields.style(i), `style image ${i + 1}`));
}

/** What the image is compared with at one scale. */
export interface Targets {
  /** The content photo at this scale; its size is the size being optimised. */
  content: tf.Tensor4D;
  contentFeatures: Record<string, tf.Tensor>;
  /** The blend of the style images' Gram matrices, per style layer. */
  styleGrams: Record<string, tf.Tensor>;
  /** The previous frame's result carried along the motion and where it holds, when there is a previous frame and a temporal weight. */
  temporal?: TemporalTarget;
}

/** Releases the tensors of `targets`. */
export function disposeTargets(targets: Targets): void {
  const temporal = targets.temporal ? [targets.temporal.previous, targets.temporal.mask] : [];
  tf.dispose([targets.content, ...Object.values(targets.contentFeatures), ...Object.values(targets.styleGrams), ...temporal]);
}

interface LossTerms {
  total: tf.Scalar;
  content: tf.Scalar;
  style: tf.Scalar;
  totalVariation: tf.Scalar;
  /** Weighted; zero without a previous frame. */
  temporal: tf.Scalar;
  contentLayers: Record<string, tf.Scalar>;
  styleLayers: Record<string, tf.Scalar>;
}

function blendWeights(params: TransferParams, styleCount: number): number[] {
  const weights = params.styleBlend ?? new Array(styleCount).fill(1);
  if (weights.length !== styleCount) {
    throw new ParamError('styleBlend', `has ${weights.length} weights for ${styleCount} style images`);
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
}

/** The whole objective: weighted content, style and total-variation losses. */
export class StyleObjective {
  private readonly contentLayerNames: string[];
  private readonly styleLayerNames: string[];

  constructor(private readonly vgg: Vgg19, private readonly params: TransferParams) {
    this.contentLayerNames = params.contentLayers.map((l) => l.layer);
    this.styleLayerNames = params.styleLayers.map((l) => l.layer);
  }

  targets(content: RgbImage, styles: RgbImage[], maxDim: number, carried?: CarriedFrame): Targets {
    const { params, vgg } = this;
    const blend = blendWeights(params, styles.length);
    const contentImage = tf.tidy(() => fitToMaxDim(rgbToTensor(content), maxDim));
    const contentFeatures = tf.tidy(() => vgg.features(contentImage, this.contentLayerNames, params.pooling));
    const styleGrams: Record<string, tf.Tensor> = {};
    styles.forEach((style, i) => {
      // One style at a time: its full-size pixels and activations are released before the next is read.
      const grams = tf.tidy(() => {
        let styleImage = fitToMaxDim(rgbToTensor(style), styleMaxDim(maxDim, params));
        if (params.preserveColors) styleImage = matchedLuminanceImage(styleImage, contentImage);
        const features = vgg.features(styleImage, this.styleLayerNames, params.pooling);
        return Object.fromEntries(this.styleLayerNames.map((name) => [name, tf.mul(gramMatrix(features[name]), blend[i])]));
      });
      for (const name of this.styleLayerNames) {
        const sum = styleGrams[name] ? tf.add(styleGrams[name], grams[name]) : grams[name];
        if (styleGrams[name]) tf.dispose([styleGrams[name], grams[name]]);
        styleGrams[name] = sum;
      }
    });
    const [, height, width] = contentImage.shape;
    const temporal = carried && temporalTarget(carried, width, height);
    return { content: contentImage, contentFeatures, styleGrams, temporal };
  }

  /** The losses of `image`, a forward pass only. */
  losses(image: tf.Tensor4D, targets: Targets): LossTerms {
    const features = this.vgg.features(image, [...this.contentLayerNames, ...this.styleLayerNames], this.params.pooling);
    return this.terms(image, features, this.grams(features), targets);
  }

  private grams(features: Features): Record<string, tf.Tensor2D> {
    return Object.fromEntries(this.styleLayerNames.map((name) => [name, gramMatrix(features[name])]));
  }

  /**
   * The losses of `image` and the gradient of the total with respect to it,
   * written out by hand (each loss's gradient with respect to its layer, then
   * VGG19's backward pass), so that no more than a few gradients are alive
   * at a time: tf.grad would keep them all to the end.
   */
  lossesAndGradient(image: tf.Tensor4D, targets: Targets): { terms: LossTerms; gradient: tf.Tensor4D } {
    const { params } = this;
    const trace = this.vgg.trace(image, [...this.contentLayerNames, ...this.styleLayerNames], params.pooling);
    try {
      const { features } = trace;
      const grams = this.grams(features);
      const terms = this.terms(image, features, grams, targets);
      const layerGradients: Features = {};
      const addGradient = (layer: string, gradient: tf.Tensor4D) => {
        const other = layerGradients[layer];
        layerGradients[layer] = other ? tf.add(other, gradient) as tf.Tensor4D : gradient;
      };
      // d/dF scale * mean((F - T)^2) = 2 scale (F - T) / size
      for (const { layer, weight } of params.contentLayers) {
        const scale = (params.contentWeight * weight) / params.contentLayers.length;
        const difference = tf.sub(features[layer], targets.contentFeatures[layer]);
        addGradient(layer, tf.mul(difference, (2 * scale) / difference.size) as tf.Tensor4D);
      }
      // d/dG scale * mean((G - T)^2) = 2 scale (G - T) / c^2, then through the Gram matrix.
      for (const { layer, weight } of params.styleLayers) {
        const scale = (params.styleWeight * weight) / params.styleLayers.length;
        const channels = features[layer].shape[3];
        const dGram = tf.tidy(() => tf.mul(tf.sub(grams[layer], targets.styleGrams[layer]), (2 * scale) / (channels * channels)) as tf.Tensor2D);
        addGradient(layer, gramMatrixGradient(features[layer], dGram));
      }
      const throughNetwork = trace.backward(layerGradients);
      const pixelTerms = [throughNetwork, tf.mul(totalVariationGradient(image), params.totalVariationWeight)];
      if (targets.temporal) pixelTerms.push(tf.mul(temporalLossGradient(image, targets.temporal), params.temporalWeight));
      const gradient = tf.addN(pixelTerms) as tf.Tensor4D;
      return { terms, gradient };
    } finally {
      trace.dispose();
    }
  }

  private terms(image: tf.Tensor4D, features: Features, grams: Record<string, tf.Tensor2D>, targets: Targets): LossTerms {
    const { params } = this;
    const contentLayers: Record<string, tf.Scalar> = {};
    for (const { layer, weight } of params.contentLayers) {
      const scale = (params.contentWeight * weight) / params.contentLayers.length;
      contentLayers[layer] = tf.mul(meanSquaredError(features[layer], targets.contentFeatures[layer]), scale);
    }
    const styleLayers: Record<string, tf.Scalar> = {};
    for (const { layer, weight } of params.styleLayers) {
      const scale = (params.styleWeight * weight) / params.styleLayers.length;
      styleLayers[layer] = tf.mul(meanSquaredError(grams[layer], targets.styleGrams[layer]), scale);
    }
    const content = tf.addN(Object.values(contentLayers));
    const style = tf.addN(Object.values(styleLayers));
    const tv = tf.mul(totalVariation(image), params.totalVariationWeight) as tf.Scalar;
    const temporal = targets.temporal ? tf.mul(temporalLoss(image, targets.temporal), params.temporalWeight) as tf.Scalar : tf.scalar(0);
    return { total: tf.addN([content, style, tv, temporal]), content, style, totalVariation: tv, temporal, contentLayers, styleLayers };
  }
}

export function readLosses(terms: LossTerms): Losses {
  const [total, content, style, totalVariation, temporal] = tf.stack([terms.total, terms.content, terms.style, terms.totalVariation, terms.temporal]).dataSync();
  return { total, content, style, totalVariation, temporal };
}

export function readLayerLosses(terms: LossTerms): LayerLosses {
  const read = (layers: Record<string, tf.Scalar>) =>
    Object.fromEntries(Object.entries(layers).map(([name, value]) => [name, value.dataSync()[0]]));
  return { content: read(terms.contentLayers), style: read(terms.styleLayers) };
}

/** Deterministic uniform noise (mulberry32), the same on every backend. */
function noiseImage(width: number, height: number, seed: number): tf.Tensor4D {
  let state = seed >>> 0;
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return tf.tensor4d(data, [1, height, width, 3]);
}

function initialImage(input: StylizeInput, content: tf.Tensor4D, carried: CarriedFrame | undefined): tf.Tensor4D {
  const [, height, width] = content.shape;
  // Ruder et al.'s start: a frame begins where the previous one ended, carried along the motion (and as its content where that has no past).
  const start = input.initImage ?? carried?.image;
  if (start) {
    return tf.tidy(() => resizeTo(rgbToTensor(start), width, height));
  }
  switch (input.params.init) {
    case 'content':
      return tf.clone(content);
    case 'noise':
      return noiseImage(width, height, input.params.seed);
    case 'style':
      return tf.tidy(() => resizeTo(rgbToTensor(input.styles[0]), width, height));
  }
}

function abortIfRequested(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('The run was cancelled', 'AbortError');
}

/** Lets timers and messages (a cancel, say) through between two steps. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Gatys et al. style transfer as in the TensorFlow tutorial: yields an event
 * after every step and, at the end of every epoch, one with the losses of
 * the image as it then stands, the image itself and a checkpoint to resume
 * from. All tensors it makes are released when it ends, however it ends.
 */
export async function* stylize(vgg: Vgg19, input: StylizeInput): AsyncGenerator<OptimizationEvent> {
  const { params, resume, signal } = input;
  if (input.styles.length === 0) throw new ParamError('styles', 'needs at least one style image');
  if (params.mode === 'fast') throw new ParamError('mode', 'fast is one pass of a network (fastTransfer), not an optimisation');
  if (params.mode === 'fast-then-optimize' && !input.initImage && !resume) {
    throw new ParamError('initImage', 'mode fast-then-optimize starts from the fast-style network\'s result: pass it');
  }
  checkImagesFit(params, input.content, input.styles);
  const objective = new StyleObjective(vgg, params);
  const carried = input.previous && params.temporalWeight > 0 ? carryOver(input.previous, input.content) : undefined;
  const schedule = scaleSchedule(params);
  const totalSteps = params.epochs * params.stepsPerEpoch;
  const started = performance.now();
  let step = resume?.step ?? 0;
  const firstStep = step;

  let scaleIndex = resume?.scale ?? 0;
  let image: tf.Tensor4D | undefined = resume && tf.tensor4d(resume.image, [1, resume.height, resume.width, 3]);
  let optimizer: Optimizer | undefined = resume && createOptimizer(params, [1, resume.height, resume.width, 3], resume.optimizer);
  let targets: Targets | undefined;
  const releaseTargets = () => {
    if (targets) disposeTargets(targets);
    targets = undefined;
  };

  try {
    while (step < totalSteps) {
      // A checkpoint at a scale's last epoch resumes at the next scale.
      if (step >= schedule[scaleIndex].endStep) {
        scaleIndex++;
        releaseTargets();
      }
      const scale = schedule[scaleIndex];
      if (!targets) {
        targets = objective.targets(input.content, input.styles, scale.maxDim, carried);
        const [, height, width] = targets.content.shape;
        if (!image) {
          image = initialImage(input, targets.content, carried);
        } else if (image.shape[1] !== height || image.shape[2] !== width) {
          // A new size starts the optimiser afresh.
          const previous = image;
          image = resizeTo(previous, width, height);
          previous.dispose();
          optimizer?.dispose();
          optimizer = undefined;
        }
        optimizer ??= createOptimizer(params, image.shape);
      }

      if (signal?.aborted && step > firstStep) input.onAbortCheckpoint?.(checkpointOf(image!, optimizer!, step, scaleIndex));
      abortIfRequested(signal);
      const stepStarted = performance.now();
      let losses!: Losses;
      const current = image!;
      const gradient = tf.tidy(() => {
        const evaluated = objective.lossesAndGradient(current, targets!);
        losses = readLosses(evaluated.terms);
        return evaluated.gradient;
      });
      image = optimizer!.update(current, gradient, step - scale.firstStep + 1, step + 1);
      tf.dispose([current, gradient]);
      step++;
      const stepEnded = performance.now();
      yield { kind: 'step', step, totalSteps, losses, ms: stepEnded - stepStarted, elapsedMs: stepEnded - started };

      if (step % params.stepsPerEpoch === 0) {
        const elapsedMs = performance.now() - started;
        yield epochEvent(objective, image, optimizer!, targets!, {
          epoch: step / params.stepsPerEpoch,
          epochs: params.epochs,
          step,
          totalSteps,
          scale: scaleIndex,
          elapsedMs,
          etaMs: (elapsedMs / (step - firstStep)) * (totalSteps - step),
          preserveColors: params.preserveColors,
        });
      }
      await yieldToEventLoop();
    }
  } finally {
    image?.dispose();
    optimizer?.dispose();
    releaseTargets();
  }
}

function epochEvent(
  objective: StyleObjective,
  image: tf.Tensor4D,
  optimizer: Optimizer,
  targets: Targets,
  at: Omit<EpochEvent, 'kind' | 'losses' | 'layers' | 'image' | 'checkpoint'> & { scale: number; preserveColors: boolean },
): EpochEvent & { checkpoint: Checkpoint } {
  const { scale, preserveColors, ...position } = at;
  // Tensors stay inside the tidy; only plain data leaves it.
  let event!: EpochEvent & { checkpoint: Checkpoint };
  tf.tidy(() => {
    const terms = objective.losses(image, targets);
    const shown = preserveColors ? withColorsOf(image, targets.content) : image;
    event = {
      kind: 'epoch',
      ...position,
      losses: readLosses(terms),
      layers: readLayerLosses(terms),
      image: tensorToRgb(shown),
      checkpoint: checkpointOf(image, optimizer, position.step, scale),
    };
  });
  return event;
}

/** The state after `step` steps, as plain data. */
function checkpointOf(image: tf.Tensor4D, optimizer: Optimizer, step: number, scale: number): Checkpoint {
  const [, height, width] = image.shape;
  return { step, scale, width, height, image: new Float32Array(image.dataSync()), optimizer: optimizer.state() };
}
