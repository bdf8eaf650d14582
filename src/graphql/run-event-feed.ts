import type { Caller } from '../auth/caller.js';
import type { RunService } from '../runs/run-service.js';
import { isTerminal, type RunEvent as BusEvent, type RunRecord, type RunStep } from '../runs/types.js';
import { EventChannel } from './event-channel.js';
import { NotFoundError } from './errors.js';
import type { RunsApi } from './runs-api.js';
import type { Telemetry } from '../observability/telemetry.js';
import { RunEventKind } from './types/enums.js';
import { RunEvent } from './types/run-event.js';

/** How much one subscriber's feed holds for it when it does not keep up. */
export interface FeedOptions {
  /** Events held at most; past it, the oldest EPOCH and FRAME events are skipped (never STATUS events; a STEP is only sent to a reader that has caught up). Default 64. */
  maxQueued?: number;
  /** Called for each EPOCH or FRAME event skipped for a slow subscriber (a metric's counter, say). */
  onDrop?: (event: RunEvent) => void;
}

export const DEFAULT_FEED_MAX_QUEUED = 64;

/**
 * One subscriber's events of one run: every stored event numbered after
 * `afterSequence` (statuses included, so that a gap in the numbers would
 * show a lost event), then live events, in sequence order and without
 * duplicates, ending after the run's final status. Epochs up to
 * `sinceEpoch` are left out. With `steps`, the steps delivered once the
 * replay is sent go out too, each behind the events delivered before it and
 * under their number; none is replayed.
 *
 * No gap: the bus is subscribed to before anything is read, and what it
 * delivers meanwhile is buffered; the replay is the stored events and the
 * buffered ones merged by sequence number, and afterwards only events
 * numbered above the last one sent go out.
 */
export async function openRunEventFeed(
  { runService: runs, runs: api, telemetry }: { runService: RunService; runs: RunsApi; telemetry: Telemetry },
  runId: string,
  from: { sinceEpoch: number; afterSequence: number; steps: boolean },
  caller: Caller,
  options: FeedOptions = {},
): Promise<AsyncIterableIterator<RunEvent>> {
  const { sinceEpoch, afterSequence } = from;
  let deliver: ((event: BusEvent) => void) | undefined;
  let deliverStep: ((step: RunStep) => void) | undefined;
  const buffered: BusEvent[] = [];
  const unsubscribe = runs.events.subscribe(
    runId,
    (event) => (deliver ? deliver(event) : buffered.push(event)),
    // A step during the replay is dropped, not buffered: the next one comes a moment later.
    from.steps ? (step) => deliverStep?.(step) : undefined,
  );
  let snapshot: RunRecord | null;
  let replay: BusEvent[];
  try {
    snapshot = await api.find(runId, caller);
    if (!snapshot) throw new NotFoundError('run', runId);
    const bySeq = new Map<number, BusEvent>();
    for (const event of await runs.events.stored(runId, afterSequence)) bySeq.set(event.seq, event);
    for (const event of buffered) bySeq.set(event.seq, event);
    replay = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  } catch (err) {
    unsubscribe();
    throw err;
  }

  // For metrics: events pushed, taken by the subscriber, and shed because it was slow; the rest are lost when it leaves.
  const subscription = telemetry.subscriptionOpened();
  const counts = { pushed: 0, taken: 0, shed: 0 };
  const channel = new EventChannel<RunEvent>(() => {
    unsubscribe();
    subscription.dropped('closed', counts.pushed - counts.taken - counts.shed);
    subscription.closed();
  }, {
    maxQueued: options.maxQueued ?? DEFAULT_FEED_MAX_QUEUED,
    // Steps are never queued behind other events (acceptStep), so only epochs and frames need dropping (Run.frames has them all).
    droppable: (event) => event.kind === RunEventKind.EPOCH || event.kind === RunEventKind.FRAME,
    onDrop: (event) => {
      counts.shed++;
      subscription.dropped('slow');
      options.onDrop?.(event);
    },
  });
  const state = new RunState(runs, snapshot);
  let lastSeq = afterSequence;
  let ended = false;
  // Events are turned into RunEvents one at a time, in order (a status event reads the run).
  let pending = Promise.resolve();
  const accept = (event: BusEvent): void => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    if (event.type === 'epoch' && event.epoch.epoch <= sinceEpoch) return;
    pending = pending.then(async () => {
      channel.push(await state.apply(event));
      counts.pushed++;
      if (event.type === 'status' && isTerminal(event.status)) {
        ended = true;
        channel.end();
      }
    }).catch((err: unknown) => channel.fail(err));
  };
  const acceptStep = (step: RunStep): void => {
    const sequence = lastSeq;
    pending = pending.then(() => {
      // A step announced after the final status (it was on its way) has nothing left to tell;
      // nor one for a subscriber still reading older events: the next step or epoch says more.
      if (ended || channel.queued > 0) return;
      channel.push(state.step(sequence, step));
      counts.pushed++;
    });
  };
  const read = channel.next.bind(channel);
  channel.next = async () => {
    const result = await read();
    if (!result.done) {
      counts.taken++;
      subscription.sent();
    }
    return result;
  };
  replay.forEach(accept);
  deliver = accept;
  deliverStep = acceptStep;
  return channel;
}

/**
 * The run as it is now, for every event sent: the latest read, moved on by
 * the events numbered after it. Replayed events (numbered at or below the
 * read) carry it unchanged, so none shows a finished run as running.
 */
class RunState {
  constructor(private readonly runs: RunService, private latest: RunRecord) {}

  async apply(event: BusEvent): Promise<RunEvent> {
    if (event.seq > this.latest.eventSeq) this.latest = await this.advance(event);
    switch (event.type) {
      case 'epoch': return RunEvent.epoch(event.seq, this.latest, event.epoch);
      case 'frame': return RunEvent.frame(event.seq, this.latest, event.frame);
      case 'status': return RunEvent.status(event.seq, event.status, this.latest);
    }
  }

  step(sequence: number, step: RunStep): RunEvent {
    return RunEvent.step(sequence, this.latest, step);
  }

  private async advance(event: BusEvent): Promise<RunRecord> {
    // Epochs are only stored while a run is RUNNING, before it has a result.
    if (event.type === 'epoch') return { ...this.latest, eventSeq: event.seq, status: 'RUNNING', currentEpoch: event.epoch.epoch };
    if (event.type === 'frame') return { ...this.latest, eventSeq: event.seq, status: 'RUNNING', currentFrame: event.frame.frame };
    // A status change also sets fields the event does not carry (backend, result): read them.
    const read = await this.runs.getRun(event.runId);
    return read && read.eventSeq >= event.seq ? read : { ...(read ?? this.latest), eventSeq: event.seq, status: event.status, error: event.error };
  }
}
