import type { TransferParams } from '../engine/params.js';
import type { Checkpoint, LayerLosses, Losses } from '../engine/types.js';

/** Messages between a worker and its engine thread (structured-clone data only). */

export interface EngineJob {
  /** Encoded image files (PNG, JPEG, WebP), decoded in the thread. */
  content: Uint8Array;
  styles: Uint8Array[];
  params: TransferParams;
  resume?: Checkpoint;
}

export interface EngineEpoch {
  epoch: number;
  step: number;
  losses: Losses;
  layers: LayerLosses;
  /** Since this job (not the run) started. */
  elapsedMs: number;
  /** The image at the end of the epoch, as PNG. */
  png: Uint8Array;
  width: number;
  height: number;
  checkpoint: Checkpoint;
}

export type ToEngine = { type: 'run'; job: EngineJob } | { type: 'abort' };

export type FromEngine =
  | { type: 'ready'; backend: string; device: string }
  | { type: 'epoch'; epoch: EngineEpoch }
  | { type: 'finished' }
  | { type: 'failed'; message: string };
