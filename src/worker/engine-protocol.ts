import type { BackendName, Checkpoint, EngineSpeed, TransferParams } from '../engine/index.js';
import type { FinishedEpoch } from '../runs/types.js';

/** Messages between a worker and its engine thread (structured-clone data only). */

/** What a thread is started with (its workerData). */
export interface EngineThreadData {
  /** Threads its backend computes with on the CPU (STYLEGRAPH_THREADS). */
  threads: number;
}

export interface EngineJob {
  /** Encoded image files (PNG, JPEG, WebP), decoded in the thread. */
  content: Uint8Array;
  styles: Uint8Array[];
  /** In the fast modes the thread loads the network `params.preset` from the models folder it finds (STYLEGRAPH_FAST_STYLE_MODELS). */
  params: TransferParams;
  resume?: Checkpoint;
  /** In a run over an animation, the frame before this one (encoded, as `content`): its content and its painted result. */
  previous?: { content: Uint8Array; result: Uint8Array };
}

/** A finished epoch as the thread sends it: `elapsedMs` counts from this job's start, not the run's. */
export interface EngineEpoch extends FinishedEpoch {
  /** Null after a FAST run's one pass: nothing continues from it. */
  checkpoint: Checkpoint | null;
}

/** A step between epochs, as the thread samples them (StepSampler): `elapsedMs` counts from this job's start, not the run's. */
export interface EngineStep {
  /** The run's steps taken, this one included. */
  step: number;
  /** Of the image the step started from (StepEvent.losses). */
  totalLoss: number;
  elapsedMs: number;
  /** The pace since the previous step sent (the first: of its own step). */
  stepsPerSecond: number;
}

/** Measurements for the service's metrics: sent after `ready`, after each epoch and when a job ends. */
export interface EngineStats {
  /** What the thread's TensorFlow.js engine holds now (tf.memory()). */
  numTensors: number;
  numBytes: number;
  /**
   * Durations (ms) of the optimisation steps taken since the previous stats,
   * every step once (the first of a job or a resumption too), as the engine
   * timed it (StepEvent.ms). A FAST pass is no step.
   */
  stepMs: number[];
}

/** A finished animation's frames (encoded, as EngineJob's), to measure the flicker of (the engine's flicker). */
export interface FlickerJob {
  contents: Uint8Array[];
  results: Uint8Array[];
}

export type ToEngine = { type: 'run'; job: EngineJob } | { type: 'abort' } | { type: 'flicker'; job: FlickerJob };

export type FromEngine =
  /** Started: what it computes on, and how fast (measured before this message). */
  | { type: 'ready'; backend: BackendName; device: string; threads: number | null; speed: EngineSpeed }
  | { type: 'epoch'; epoch: EngineEpoch }
  /** A few a second at most while a job optimizes; the others are dropped, the epochs carry where each ends. */
  | { type: 'step'; step: EngineStep }
  /** The state an aborted job stopped at (after its last epoch), sent before its `failed`. */
  | { type: 'aborted'; checkpoint: Checkpoint }
  | { type: 'finished' }
  /** The answer to a `flicker` job. */
  | { type: 'flicker'; flicker: number | null }
  | { type: 'failed'; message: string }
  | { type: 'stats'; stats: EngineStats };
