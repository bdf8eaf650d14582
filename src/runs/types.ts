import type { LayerLosses, Losses, PartialParams, TransferParams } from '../engine/index.js';
import type { RunStatus } from '../storage/generated/enums.js';

export type { RunStatus };

/**
 * The statuses a run ends in: no move leads out of them (RunLifecycle), so
 * nothing works on such a run again. Here, beside RunStatus, rather than with
 * the state machine, so that the telemetry can tell them without importing it.
 */
export const FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELED'] as const satisfies readonly RunStatus[];

/** Every other status: one added to the schema is unfinished (and needs its moves in RunLifecycle) until listed as final. */
export type UnfinishedStatus = Exclude<RunStatus, (typeof FINAL_STATUSES)[number]>;

/** The statuses of a run still waiting for a worker or optimised by one: the only ones a worker's lease counts in. */
export const UNFINISHED_STATUSES = ['QUEUED', 'RUNNING'] as const satisfies readonly UnfinishedStatus[];

/** Whether a run in `status` is finished for good. */
export function isTerminal(status: RunStatus): boolean {
  return (FINAL_STATUSES as readonly RunStatus[]).includes(status);
}

/** A run as the service hands it out. Image fields are SHA-256 ids of stored images. */
export interface RunRecord {
  id: string;
  ownerId: string | null;
  idempotencyKey: string | null;
  status: RunStatus;
  /** Every parameter, defaults filled in. */
  params: TransferParams;
  seed: number;
  contentImage: string;
  /** In the order given. */
  styleImages: string[];
  backend: string | null;
  device: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  /**
   * The last epoch stored, 0 before the first; out of `params.epochs` times
   * totalFrames (a run over an animation numbers its epochs over all its
   * frames: frame f's are (f-1) * epochs + 1 to f * epochs).
   */
  currentEpoch: number;
  /** The frames the run paints: its content image's (1 for a still image). */
  totalFrames: number;
  /** The last frame stored of a run over an animation, 0 before the first (and for a still image). */
  currentFrame: number;
  resultImage: string | null;
  /** Of a run over an animation that SUCCEEDED: how much its painted frames flicker (engine/temporal's flicker); else null. */
  flicker: number | null;
  /** Sequence number of the run's latest event. */
  eventSeq: number;
}

/** What an epoch measured: as the engine thread sends it, as the database keeps it. */
export interface EpochFigures {
  /** 1-based. */
  epoch: number;
  /** Optimisation steps taken by the end of this epoch. */
  step: number;
  losses: Losses;
  layers: LayerLosses;
  /** Optimisation time from the run's start to the end of this epoch, over restarts. */
  elapsedMs: number;
}

/** An epoch as it is stored (RunLifecycle.recordEpoch): its figures and its image, as PNG. */
export interface FinishedEpoch extends EpochFigures {
  preview: { png: Uint8Array; width: number; height: number };
}

/** A stored epoch, as it is read and published. */
export interface EpochRecord extends EpochFigures {
  runId: string;
  /** Null once retention dropped the preview of an old run (src/retention); the final image stays as the run's result. */
  previewImage: string | null;
  /** The sequence number this epoch's event was published with. */
  seq: number;
  createdAt: Date;
}

/** A painted frame of a run over an animation: as the worker stores it (RunLifecycle.recordFrame). */
export interface FinishedFrame {
  /** 1-based, in the animation's order. */
  frame: number;
  /** The run's epoch that ended the frame (epochs are numbered over the whole run): its image and losses are the frame's. */
  epoch: number;
  /** How long the animation shows it (the content frame's delay). */
  delayMs: number;
}

/** A stored frame, as it is read and published. */
export interface FrameRecord extends Omit<FinishedFrame, 'epoch'> {
  runId: string;
  losses: Losses;
  /** Painting time from the run's start to the end of this frame, over restarts. */
  elapsedMs: number;
  /** The painted frame (PNG). */
  image: string;
  /** The sequence number this frame's event was published with. */
  seq: number;
  createdAt: Date;
}

/** What happens to a run, in order: `seq` rises by one with each event of the run. */
export type RunEvent =
  | { type: 'status'; runId: string; seq: number; status: RunStatus; error: string | null; at: Date }
  | { type: 'epoch'; runId: string; seq: number; epoch: EpochRecord }
  | { type: 'frame'; runId: string; seq: number; frame: FrameRecord };

/**
 * How far a running run has come between epochs: a sample of its steps, a few
 * a second at most. Not an event of the log: never stored, numbered nor
 * replayed, only handed to those listening when it happens.
 */
export interface RunStep {
  runId: string;
  /** Steps taken over the whole run, as EpochFigures.step counts them. */
  step: number;
  /** 1-based: the epoch the step belongs to, the one in progress. */
  epoch: number;
  /** Of the image the step started from. */
  totalLoss: number;
  /** Optimization time from the run's start, over restarts, as EpochFigures.elapsedMs. */
  elapsedMs: number;
  /** Steps a second lately (since the previous step told). */
  stepsPerSecond: number;
}

export interface StartRunInput {
  /** SHA-256 id of a stored image. */
  contentImage: string;
  /** SHA-256 ids of stored images; at least one, except in the fast modes, where it is empty (the preset's painting is the style). */
  styleImages: string[];
  /** Missing fields take their defaults. */
  params?: PartialParams;
  /** A retried request with the same key gets the first run back instead of a second one. */
  idempotencyKey?: string | null;
  ownerId?: string | null;
  /**
   * Whose images the run may use: this owner's (uploaded, or used by their
   * runs); undefined: any stored image (admins, auth off, the service's own callers).
   */
  imageScope?: string;
}
