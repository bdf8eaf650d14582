/** What `stylegraph stylize` shows and saves of a run, wherever it happens (here or on a server). */
import type { Losses } from '../engine';

/** What the run paints: a still image, or the frames of an animation or a video, whose result is then of the same kind. */
export interface ContentReport {
  mimeType: string;
  frames: number;
}

/** An epoch's end. */
export interface EpochReport {
  /** Numbered over the whole run: a run over frames paints each frame in `epochs / frames` epochs, one frame after the other. */
  epoch: number;
  epochs: number;
  /** The frame this epoch paints, 1-based (1 for a still image). */
  frame: number;
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

/** The run's result: a PNG for a still image, else an animation or a video of the content's kind. */
export interface ResultReport {
  mimeType: string;
  frames: number;
  /** Of frames: how much they flicker (the engine's flicker, Run.flicker); null for a still image. */
  flicker: number | null;
  bytes(): Promise<Uint8Array>;
}

export type RunReport =
  | { kind: 'content'; content: ContentReport }
  | { kind: 'epoch'; epoch: EpochReport }
  | { kind: 'step'; step: StepReport }
  | { kind: 'result'; result: ResultReport };

/** The time the rest of a run takes at its pace so far, by epochs (a fast pass takes no steps, so steps cannot say). */
export function remainingMs(elapsedMs: number, epoch: number, epochs: number): number {
  return (elapsedMs / epoch) * (epochs - epoch);
}
