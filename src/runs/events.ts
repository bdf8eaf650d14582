import { stderrLogger, type Logger } from '../observability/logger.js';
import type { RunEvent } from './types.js';

export type RunEventListener = (event: RunEvent) => void;

/** A run's stored events numbered after `afterSeq` (up to `upToSeq`, if given), in order: see event-log.ts. */
export type StoredRunEvents = (runId: string, afterSeq: number, upToSeq?: number) => Promise<RunEvent[]>;

/** The listeners of one run in this process, and how far they have been served. */
interface RunStream {
  listeners: Set<RunEventListener>;
  /** The `seq` of the last event handed to the listeners; undefined before the first. */
  lastSeq: number | undefined;
  /** This run's deliveries, one after another: filling a gap reads the database. */
  deliveries: Promise<void>;
}

/**
 * Publish/subscribe by run id. Sequence numbers come from the database (see
 * lifecycle.ts), so they rise across restarts and processes. From the first
 * event a listener gets, it gets every later event of the run once, in
 * sequence order: an event numbered at or below the last one delivered is
 * dropped, and one that skips numbers is preceded by the missing events, read
 * back from the database.
 *
 * One process (the embedded database): the writers' `publish` is the source.
 * Several processes (PostgreSQL): every committed event is announced by the
 * database to every process, in commit order (RunEventListener calls
 * `announced`), and that is the only source; a local `publish` is ignored,
 * because delivering it ahead of the announcements of other processes' earlier
 * commits would skip them.
 */
export class RunEventBus {
  private readonly streams = new Map<string, RunStream>();

  constructor(
    private readonly readStored: StoredRunEvents,
    private readonly source: 'publish' | 'database' = 'publish',
    private readonly logger: Logger = stderrLogger(),
  ) {}

  /** Returns the function that unsubscribes. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let stream = this.streams.get(runId);
    if (!stream) this.streams.set(runId, (stream = { listeners: new Set(), lastSeq: undefined, deliveries: Promise.resolve() }));
    stream.listeners.add(listener);
    return () => {
      stream.listeners.delete(listener);
      if (stream.listeners.size === 0 && this.streams.get(runId) === stream) this.streams.delete(runId);
    };
  }

  /** Writers call this once the write of `event` is committed. */
  publish(event: RunEvent): void {
    if (this.source === 'publish') this.advance(event.runId, event.seq, event);
  }

  /** The database says that the run's events up to `seq` are committed. */
  announced(runId: string, seq: number): void {
    this.advance(runId, seq);
  }

  /** The run's stored events numbered after `afterSeq`, in order (what a late subscriber replays). */
  stored(runId: string, afterSeq: number): Promise<RunEvent[]> {
    return this.readStored(runId, afterSeq);
  }

  /**
   * After announcements may have been lost (a dropped connection): brings
   * every followed run up to its latest stored event. A run that has had no
   * event here yet gets all of them (its listeners drop what they know by seq).
   */
  catchUp(): void {
    for (const runId of this.streams.keys()) this.advance(runId, undefined);
  }

  /** Delivers the run's events after the last delivered one, up to `upToSeq` (all stored ones when undefined). */
  private advance(runId: string, upToSeq: number | undefined, event?: RunEvent): void {
    const stream = this.streams.get(runId);
    if (!stream) return; // no listener here: nothing to read or deliver
    stream.deliveries = stream.deliveries.then(async () => {
      const last = stream.lastSeq;
      if (last !== undefined && upToSeq !== undefined && upToSeq <= last) return;
      // The next event in hand needs no read; the first one seen starts the stream where it is.
      const events = event && (last === undefined || event.seq === last + 1)
        ? [event]
        : await this.readStored(runId, last ?? (upToSeq === undefined ? 0 : upToSeq - 1), upToSeq);
      for (const next of events) {
        if (stream.lastSeq !== undefined && next.seq <= stream.lastSeq) continue;
        stream.lastSeq = next.seq;
        this.deliver(stream, next);
      }
    }).catch((err: unknown) => {
      this.logger.error({ runId, err }, 'reading the events of a run failed');
    });
  }

  private deliver(stream: RunStream, event: RunEvent): void {
    for (const listener of [...stream.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // A failing subscriber must not stop the run that published, nor the other subscribers.
        this.logger.error({ runId: event.runId, err }, 'a subscriber to a run failed');
      }
    }
  }
}
