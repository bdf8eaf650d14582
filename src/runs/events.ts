import type { RunEvent } from './types.js';

export type RunEventListener = (event: RunEvent) => void;

/**
 * Publish/subscribe by run id within one process. Sequence numbers come from
 * the database (see lifecycle.ts), so they stay in order across restarts and,
 * once events travel between processes, across processes too.
 */
export class RunEventBus {
  private readonly listeners = new Map<string, Set<RunEventListener>>();

  /** Returns the function that unsubscribes. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(runId) === set) this.listeners.delete(runId);
    };
  }

  publish(event: RunEvent): void {
    for (const listener of [...(this.listeners.get(event.runId) ?? [])]) {
      try {
        listener(event);
      } catch (err) {
        // A failing subscriber must not stop the run that published, nor the other subscribers.
        console.error(`stylegraph: a subscriber to run ${event.runId} failed:`, err);
      }
    }
  }
}
