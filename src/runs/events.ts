import { stderrLogger, type Logger } from '../observability/logger.js';
import type { RunEvent, RunStep } from './types.js';

export type RunEventListener = (event: RunEvent) => void;
export type RunStepListener = (step: RunStep) => void;

/** A run's stored events numbered after `afterSeq` (up to `upToSeq`, if given), in order: see event-log.ts. */
export type StoredRunEvents = (runId: string, afterSeq: number, upToSeq?: number) => Promise<RunEvent[]>;

/**
 * Where a bus's events come from: this process's writers (one process, the
 * embedded database), or the database's announcements (several processes,
 * PostgreSQL), which then carry the steps too: `announceStep` hands one to
 * the database, to announce to every process.
 */
export type RunEventSource = { kind: 'publish' } | { kind: 'database'; announceStep: (step: RunStep) => Promise<void> };

/** One subscription: every event, and the steps if it asked for them. */
interface Subscriber {
  event: RunEventListener;
  step?: RunStepListener;
}

/** The listeners of one run in this process, and how far they have been served. */
interface RunStream {
  subscribers: Set<Subscriber>;
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
 *
 * Steps (RunStep) travel the same way but are no events of the log: a step
 * reaches only the listeners there are when it is delivered, after the events
 * delivered before it, and leaves `lastSeq` as it was.
 */
export class RunEventBus {
  private readonly streams = new Map<string, RunStream>();

  constructor(
    private readonly readStored: StoredRunEvents,
    private readonly source: RunEventSource = { kind: 'publish' },
    private readonly logger: Logger = stderrLogger(),
  ) {}

  /** Returns the function that unsubscribes; `onStep`, if given, also hears the run's steps. */
  subscribe(runId: string, listener: RunEventListener, onStep?: RunStepListener): () => void {
    let stream = this.streams.get(runId);
    if (!stream) this.streams.set(runId, (stream = { subscribers: new Set(), lastSeq: undefined, deliveries: Promise.resolve() }));
    const subscriber: Subscriber = { event: listener, step: onStep };
    stream.subscribers.add(subscriber);
    return () => {
      stream.subscribers.delete(subscriber);
      if (stream.subscribers.size === 0 && this.streams.get(runId) === stream) this.streams.delete(runId);
    };
  }

  /** Writers call this once the write of `event` is committed. */
  publish(event: RunEvent): void {
    if (this.source.kind === 'publish') this.advance(event.runId, event.seq, event);
  }

  /**
   * The worker calls this with a running run's step: for the listeners of this
   * process, or of every process. Resolves once it is announced (never
   * rejects): the worker waits for it before it stores the next epoch, so that
   * a step cannot reach another process after the epoch that follows it.
   */
  async publishStep(step: RunStep): Promise<void> {
    // A diverging run's loss is not a number: GraphQL's Float could not carry it, and its epoch will say so.
    if (!Number.isFinite(step.totalLoss) || !Number.isFinite(step.stepsPerSecond)) return;
    if (this.source.kind === 'publish') {
      this.stepAnnounced(step);
      return;
    }
    await this.source.announceStep(step).catch((err: unknown) => {
      // Not worth a warning: the next step, or the epoch, tells the same progress a moment later.
      this.logger.debug({ runId: step.runId, err }, 'announcing a step of a run failed');
    });
  }

  /** A step to hand to this process's listeners, after the events on their way to them. */
  stepAnnounced(step: RunStep): void {
    const stream = this.streams.get(step.runId);
    if (!stream) return;
    stream.deliveries = stream.deliveries.then(() => this.deliver(stream, step.runId, (subscriber) => subscriber.step?.(step)));
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
        this.deliver(stream, runId, (subscriber) => subscriber.event(next));
      }
    }).catch((err: unknown) => {
      this.logger.error({ runId, err }, 'reading the events of a run failed');
    });
  }

  private deliver(stream: RunStream, runId: string, hand: (subscriber: Subscriber) => void): void {
    for (const subscriber of [...stream.subscribers]) {
      try {
        hand(subscriber);
      } catch (err) {
        // A failing subscriber must not stop the run that published, nor the other subscribers.
        this.logger.error({ runId, err }, 'a subscriber to a run failed');
      }
    }
  }
}
