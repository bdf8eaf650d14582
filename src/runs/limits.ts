import { positiveInteger } from '../config.js';
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

/** The limits as configured (the STYLEGRAPH_MAX_* variables), the defaults where unset. */
export function loadApiLimits(env: NodeJS.ProcessEnv = process.env): ApiLimits {
  return {
    maxImageBytes: positiveInteger(env, 'STYLEGRAPH_MAX_IMAGE_BYTES', DEFAULT_API_LIMITS.maxImageBytes),
    maxImagePixels: positiveInteger(env, 'STYLEGRAPH_MAX_IMAGE_PIXELS', DEFAULT_API_LIMITS.maxImagePixels),
    maxFrames: positiveInteger(env, 'STYLEGRAPH_MAX_FRAMES', DEFAULT_API_LIMITS.maxFrames),
    maxTotalPixels: positiveInteger(env, 'STYLEGRAPH_MAX_TOTAL_PIXELS', DEFAULT_API_LIMITS.maxTotalPixels),
    maxDurationMs: positiveInteger(env, 'STYLEGRAPH_MAX_DURATION_MS', DEFAULT_API_LIMITS.maxDurationMs),
    maxDim: positiveInteger(env, 'STYLEGRAPH_MAX_DIM', DEFAULT_API_LIMITS.maxDim),
    maxTotalSteps: positiveInteger(env, 'STYLEGRAPH_MAX_STEPS', DEFAULT_API_LIMITS.maxTotalSteps),
    maxStyleImages: positiveInteger(env, 'STYLEGRAPH_MAX_STYLE_IMAGES', DEFAULT_API_LIMITS.maxStyleImages),
  };
}

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

/** What the engine paints as one picture (decodeImage reads still PNG, JPEG and WebP only). */
const PAINTED_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);

/**
 * Refused, naming `field`, unless a run can paint the image: a still PNG,
 * JPEG or WebP (PAINTED_TYPES); as a run's content (`animations`), an
 * animated GIF or WebP or a video too, painted frame by frame (a style image
 * is one picture).
 */
export function checkPainted(image: { mimeType: string; frames: number }, field: string, animations = false): void {
  if (animations && image.frames > 1) return;
  const painted = `runs paint still PNG, JPEG or WebP images${animations ? ', and animations (GIF, animated WebP) and videos (MP4, WebM) as the content' : ''}`;
  const video = image.mimeType.startsWith('video/');
  if (image.frames > 1) throw new ParamError(field, `is ${video ? 'a video' : 'an animated image'} (${image.frames} frames); ${painted}`);
  if (video) throw new ParamError(field, `is a video of one frame; ${painted}`);
  if (!PAINTED_TYPES.has(image.mimeType)) throw new ParamError(field, `is a ${image.mimeType.replace(/^image\//, '').toUpperCase()} image; ${painted}`);
}
