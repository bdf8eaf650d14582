/** Plain data that crosses the engine's boundary: no tensors, structured-clone safe. */
import type { OptimizerState } from './optimizers';

export type { OptimizerState };

/** The TensorFlow.js backends the engine runs on, best first (src/engine/backend.ts). */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** An RGB image, row-major HWC, 8 bits per channel. */
export interface RgbImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

export interface Losses {
  total: number;
  content: number;
  style: number;
  totalVariation: number;
  /** The temporal coherence term of a frame after the first (params.temporalWeight), part of `total`; else 0. */
  temporal: number;
}

export interface LayerLosses {
  /** Weighted loss of each content layer, by layer name. */
  content: Record<string, number>;
  /** Weighted loss of each style layer, by layer name. */
  style: Record<string, number>;
}

/**
 * Everything needed to continue an optimisation exactly where it stopped:
 * the image being optimised (float, 0..1, HWC), the optimiser's state (Adam's
 * moments or L-BFGS's history, of the same size) and the count of steps
 * taken (over all scales).
 */
export interface Checkpoint {
  step: number;
  /** Index into the multi-scale schedule (0 when multi-scale is off). */
  scale: number;
  width: number;
  height: number;
  image: Float32Array;
  optimizer: OptimizerState;
}

export interface StepEvent {
  kind: 'step';
  /** 1-based count of steps taken over the whole run. */
  step: number;
  totalSteps: number;
  /** Losses of the image the step started from. */
  losses: Losses;
  /**
   * Wall time (ms) of this step alone: its evaluation and update. Not the
   * set-up before a run's (or a scale's) first step, nor the events and
   * previews between steps.
   */
  ms: number;
  /** Wall time since the run (or its resumption) started, as EpochEvent.elapsedMs: where progress between epochs stands. */
  elapsedMs: number;
}

export interface EpochEvent {
  kind: 'epoch';
  /** 1-based. */
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  /** Losses of `image`, the image as it stands at the end of the epoch. */
  losses: Losses;
  layers: LayerLosses;
  /** Wall time since the run (or its resumption) started. */
  elapsedMs: number;
  /** Estimated time to the end at the pace measured so far. */
  etaMs: number;
  image: RgbImage;
  /** What to resume from; null in mode 'fast', which has nothing to resume. */
  checkpoint: Checkpoint | null;
}

export type TransferEvent = StepEvent | EpochEvent;

/** The optimisation's events: each epoch can be resumed from. */
export type OptimizationEvent = StepEvent | (EpochEvent & { checkpoint: Checkpoint });
