/**
 * How long a run takes on this engine, from step times measured on it: a
 * short calibration when an engine starts (a few steps at two sizes, fitted
 * as a fixed plus a per-pixel cost), corrected by the ratio of measured to
 * predicted step times of the runs it has made since (the service keeps that).
 */
import * as tf from '@tensorflow/tfjs';
import type { FastStyleNetwork } from './fast-style';
import { isFastMode, resolveParams, type TransferParams } from './params';
import { fitSize, rgbToTensor } from './pixels';
import { disposeTargets, scaleSchedule, StyleObjective, styleMaxDim, type ImageSize } from './transfer';
import type { RgbImage } from './types';
import type { Vgg19 } from './vgg19';

/** Milliseconds as a fixed cost plus a cost per pixel. */
export interface LinearCost {
  fixedMs: number;
  msPerPixel: number;
}

export interface EngineSpeed {
  /** One optimisation step (forward, gradient, update) at a size. */
  step: LinearCost;
  /** One forward pass (an epoch's losses, a style image's targets). */
  forward: LinearCost;
  /** One pass of a fast-style network per pixel; null when no network was at hand to measure. */
  fastMsPerPixel: number | null;
}

function costAt(cost: LinearCost, pixels: number): number {
  return cost.fixedMs + cost.msPerPixel * pixels;
}

/** The line through two measurements (never below zero: a noisy small size must not make large ones cheap). */
function fit(small: { pixels: number; ms: number }, large: { pixels: number; ms: number }): LinearCost {
  const msPerPixel = Math.max(0, (large.ms - small.ms) / (large.pixels - small.pixels));
  return { fixedMs: Math.max(0, small.ms - msPerPixel * small.pixels), msPerPixel };
}

function textured(side: number, seed: number): RgbImage {
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37 + seed) * 0.5 + 0.5) * 255;
  return { width: side, height: side, data };
}

function timed(f: () => void): number {
  const started = performance.now();
  f();
  return performance.now() - started;
}

/**
 * Measures this engine: a step and a forward pass at two sizes, after one
 * step that warms the kernels up (about 2 s with wasm on two cores), and a
 * fast-style pass when a network is given. Short and rough: the runs made
 * afterwards correct it (EngineProfiles).
 */
export function measureEngineSpeed(vgg: Vgg19, network?: FastStyleNetwork, sides: [number, number] = [64, 128]): EngineSpeed {
  const objective = new StyleObjective(vgg, resolveParams({}));
  const measure = (side: number, warmUp: boolean) => {
    const image = textured(side, 1);
    const targets = objective.targets(image, [image], side);
    const step = () => tf.tidy(() => {
      objective.lossesAndGradient(targets.content, targets).gradient.dataSync();
    });
    try {
      if (warmUp) step();
      return {
        pixels: side * side,
        step: timed(step),
        forward: timed(() => tf.tidy(() => {
          objective.losses(targets.content, targets).total.dataSync();
        })),
      };
    } finally {
      disposeTargets(targets);
    }
  };
  const small = measure(sides[0], true);
  const large = measure(sides[1], false);
  let fastMsPerPixel: number | null = null;
  if (network) {
    const image = rgbToTensor(textured(sides[1], 3));
    tf.dispose(network.stylizeTensor(image));
    fastMsPerPixel = timed(() => tf.dispose(network.stylizeTensor(image))) / (sides[1] * sides[1]);
    image.dispose();
  }
  return {
    step: fit({ pixels: small.pixels, ms: small.step }, { pixels: large.pixels, ms: large.step }),
    forward: fit({ pixels: small.pixels, ms: small.forward }, { pixels: large.pixels, ms: large.forward }),
    fastMsPerPixel,
  };
}

/** The predicted time of one step at `pixels`, before any correction. */
export function stepMsAt(speed: EngineSpeed, pixels: number): number {
  return costAt(speed.step, pixels);
}

export interface RunTimeEstimate {
  /** The whole run on the engine, set-up (targets, a fast pass) included. */
  ms: number;
  steps: number;
}

/**
 * The time a run of `params` on images of these sizes takes on an engine of
 * `speed`, its step times multiplied by `correction` (measured over predicted
 * step times of earlier runs; 1 without any).
 */
export function estimateRunTime(params: TransferParams, content: ImageSize, styles: ImageSize[], speed: EngineSpeed, correction = 1): RunTimeEstimate {
  const pixels = (image: ImageSize, maxDim: number) => {
    const size = fitSize(image.width, image.height, maxDim);
    return size.width * size.height;
  };
  // A fast pass needs no calibration to be far from zero: without one, it is taken as a forward pass.
  const fastPass = (maxDim: number) => {
    const contentPixels = pixels(content, maxDim);
    return speed.fastMsPerPixel === null ? costAt(speed.forward, contentPixels) : speed.fastMsPerPixel * contentPixels;
  };
  const targetsAt = (maxDim: number) => costAt(speed.forward, pixels(content, maxDim))
    + styles.reduce((sum, style) => sum + costAt(speed.forward, pixels(style, styleMaxDim(maxDim, params))), 0);
  if (params.mode === 'fast') {
    return { ms: correction * (fastPass(params.maxDim) + targetsAt(params.maxDim) + costAt(speed.forward, pixels(content, params.maxDim))), steps: 0 };
  }
  let ms = isFastMode(params.mode) ? fastPass(params.maxDim) : 0;
  for (const scale of scaleSchedule(params)) {
    const contentPixels = pixels(content, scale.maxDim);
    const steps = scale.endStep - scale.firstStep;
    const epochs = steps / params.stepsPerEpoch;
    ms += targetsAt(scale.maxDim) + steps * costAt(speed.step, contentPixels) + epochs * costAt(speed.forward, contentPixels);
  }
  return { ms: correction * ms, steps: params.epochs * params.stepsPerEpoch };
}
