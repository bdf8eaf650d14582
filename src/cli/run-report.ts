/** What `stylegraph stylize` shows and saves of a run, wherever it happens (here or on a server). */
import type { Losses } from '../engine';

/** An epoch's end. */
export interface EpochReport {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  losses: Losses;
  elapsedMs: number;
  etaMs: number;
  /** The size optimised in this epoch (multiscale changes it). */
  width: number;
  height: number;
  /** The image at the end of the epoch, as PNG. */
  png(): Promise<Uint8Array>;
}

/** Progress between epochs (steps here; nothing from a server). */
export interface StepReport {
  step: number;
  totalSteps: number;
  loss: number;
}

export type RunReport = { kind: 'epoch'; epoch: EpochReport } | { kind: 'step'; step: StepReport };
