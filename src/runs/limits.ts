import { ParamError, type TransferParams } from '../engine/index.js';

/** What one request may ask of this server; refused requests write nothing. */
export interface ApiLimits {
  /** Largest accepted image file, in bytes (after base64 decoding for data URLs). */
  maxImageBytes: number;
  /** Largest accepted width * height of an image, of each frame of an animation; checked from its header before decoding. */
  maxImagePixels: number;
  /** Most frames an accepted animation (GIF, animated WebP) may have. */
  maxFrames: number;
  /** Largest accepted width * height * frames of an animation: what decoding it reads. */
  maxTotalPixels: number;
  /** Longest accepted animation, in milliseconds (the sum of its frame delays). */
  maxDurationMs: number;
  /** Largest `maxDim` a run may ask for. */
  maxDim: number;
  /** Largest `epochs * stepsPerEpoch` a run may ask for (times its frames, for an animation). */
  maxTotalSteps: number;
  /** Most style images one run may blend: each is decoded and passed through VGG19 before the first step. */
  maxStyleImages: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = Object.freeze({
  maxImageBytes: 16 * 1024 * 1024,
  maxImagePixels: 25_000_000,
  maxFrames: 300,
  maxTotalPixels: 100_000_000,
  maxDurationMs: 60_000,
  maxDim: 2048,
  maxTotalSteps: 10_000,
  maxStyleImages: 8,
});

/** What the run service holds every run it starts to. */
export interface RunRules {
  limits: ApiLimits;
  /** Unfinished (QUEUED or RUNNING) runs one owner may have; runs without an owner (auth off) are not counted. */
  maxQueuedRuns: number;
}

/** The rules of a run service that serves no API (workers, tools): the default limits, no count of unfinished runs. */
export const DEFAULT_RUN_RULES: Readonly<RunRules> = Object.freeze({ limits: DEFAULT_API_LIMITS, maxQueuedRuns: Infinity });

/** The server's own limits on top of the engine's validation (resolveParams). */
export function checkRunLimits(params: TransferParams, styleImageCount: number, limits: ApiLimits): void {
  if (styleImageCount > limits.maxStyleImages) {
    throw new ParamError('styleImages', `has ${styleImageCount} images; this server blends at most ${limits.maxStyleImages} style images in a run`);
  }
  if (params.maxDim > limits.maxDim) {
    throw new ParamError('maxDim', `must be at most ${limits.maxDim} on this server`);
  }
  checkRunSteps(params, 1, limits);
}

/** The optimisation steps a run takes over `frames` frames (none in mode fast: a pass takes no steps). */
export function runSteps(params: TransferParams, frames: number): number {
  return params.mode === 'fast' ? 0 : params.epochs * params.stepsPerEpoch * frames;
}

/** The steps limit, once the content's frames are known (checkRunLimits checks one frame's before any image is read). */
export function checkRunSteps(params: TransferParams, frames: number, limits: ApiLimits): void {
  const totalSteps = runSteps(params, frames);
  if (totalSteps > limits.maxTotalSteps) {
    const counted = frames > 1 ? `epochs x stepsPerEpoch x ${frames} frames` : 'epochs x stepsPerEpoch';
    throw new ParamError('epochs', `${counted} is ${totalSteps}; this server allows at most ${limits.maxTotalSteps} steps per run`);
  }
}
