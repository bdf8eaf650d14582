/**
 * Following one run for a view: its events, the epochs kept merged in
 * order, and once it ends the run fetched once more (its result and every
 * epoch); its steps too where the view wants them. One place for what the
 * run view and the comparison both do.
 */
import { getRun, subscribeRunEvents, subscribeRunSteps, type ApiError, type Image, type Run, type RunEpoch, type RunFrame, type RunStep, type RunWithEpochs } from './api';

export interface RunFollowHandlers {
  /** The run as an event tells it; `added` is the epoch the event brought, if new. */
  changed(run: Run, added: RunEpoch | undefined): void;
  /** The run as it ended, fetched again (its frames too), its epochs merged. */
  ended(run: RunWithEpochs): void;
  /** A frame of a run over an animation or a video is painted. */
  frame?(frame: RunFrame): void;
  /** A step of the epoch in progress (a few a second); steps are subscribed to only when this is given. */
  step?(step: RunStep): void;
  error(error: ApiError): void;
}

/** Adds the epochs not in `epochs` yet, keeping them in order; returns those added. */
export function mergeEpochs(epochs: RunEpoch[], more: RunEpoch[]): RunEpoch[] {
  const added = more.filter((epoch) => !epochs.some((e) => e.epoch === epoch.epoch));
  epochs.push(...added);
  epochs.sort((a, b) => a.epoch - b.epoch);
  return added;
}

/** The last epoch with a preview: the picture so far. */
export function latestPreview(epochs: RunEpoch[]): (RunEpoch & { preview: Image }) | undefined {
  return [...epochs].reverse().find((epoch): epoch is RunEpoch & { preview: Image } => epoch.preview !== null);
}

/** Follows the run with `epochs` (merged into as events come); returns the function that stops following. */
export function followRun(runId: string, epochs: RunEpoch[], handlers: RunFollowHandlers): () => void {
  let following = true;
  const stopSteps = handlers.step ? subscribeRunSteps(runId, (step) => following && handlers.step!(step)) : undefined;
  const stopEvents = subscribeRunEvents(runId, epochs.at(-1)?.epoch ?? 0, {
    next: (event) => {
      if (!following) return;
      const [added] = event.kind === 'EPOCH' && event.epoch ? mergeEpochs(epochs, [event.epoch]) : [];
      if (event.kind === 'FRAME' && event.frame) handlers.frame?.(event.frame);
      handlers.changed(event.run, added);
    },
    error: (error) => following && handlers.error(error),
    complete: () => {
      if (!following) return;
      // The final status event carries the run; fetch once more for its result image and every epoch.
      void getRun(runId).then((run) => {
        if (!following || !run) return;
        mergeEpochs(epochs, run.epochs);
        handlers.ended(run);
      }).catch(() => undefined);
    },
  });
  return () => {
    following = false;
    stopEvents();
    stopSteps?.();
  };
}
