import type { StepEvent } from '../engine/index.js';
import type { EngineStep } from './engine-protocol.js';

/**
 * The shortest time between two steps a job reports: four a second moves a
 * progress bar and a rate smoothly, while a fast engine (hundreds of steps a
 * second on a small image) sends, and the database announces, no more.
 */
export const STEP_INTERVAL_MS = 250;

/**
 * Picks the steps of one job to report: a step is sent once STEP_INTERVAL_MS
 * of the job's time has passed since the last one sent, so the latest step
 * wins and the ones between are dropped. Nothing is held back to send later:
 * the step an epoch ends on is told by the epoch itself.
 */
export class StepSampler {
  private last: { step: number; elapsedMs: number } | undefined;

  sample(event: StepEvent): EngineStep | undefined {
    // The first step's pace is its own; later ones' is the pace since the last step sent, epochs' previews
    // included, which is what an estimate of the time left needs.
    const since = this.last ?? { step: event.step - 1, elapsedMs: event.elapsedMs - event.ms };
    if (this.last && event.elapsedMs - this.last.elapsedMs < STEP_INTERVAL_MS) return undefined;
    this.last = { step: event.step, elapsedMs: event.elapsedMs };
    return {
      step: event.step,
      totalLoss: event.losses.total,
      elapsedMs: event.elapsedMs,
      stepsPerSecond: ((event.step - since.step) * 1000) / (event.elapsedMs - since.elapsedMs),
    };
  }
}
