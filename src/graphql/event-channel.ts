/** A bound on what a channel holds for a reader that does not keep up. */
export interface ChannelBound<T> {
  /** Values held at most, unless none of them may be dropped. */
  maxQueued: number;
  /** Values that may be dropped for a slow reader (oldest first); the others are always delivered. */
  droppable: (value: T) => boolean;
  /** Called with each value dropped. */
  onDrop?: (value: T) => void;
}

/**
 * An async iterator fed by push(). Unlike an async generator, return() (a
 * client unsubscribing or disconnecting) ends it at once, even while a
 * next() is waiting for a value, so nothing stays subscribed behind it.
 * With a bound, a reader that falls behind loses droppable values (the
 * oldest first) rather than letting the queue grow without end.
 */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: { resolve: (result: IteratorResult<T>) => void; reject: (err: unknown) => void } | undefined;
  private ending = false;
  private failure: { error: unknown } | undefined;
  private closed = false;

  /** `onClose` runs once, when the channel is done for whatever reason. */
  constructor(private readonly onClose: () => void, private readonly bound?: ChannelBound<T>) {}

  push(value: T): void {
    if (this.closed || this.ending) return;
    if (this.waiting) {
      this.take().resolve({ value, done: false });
    } else {
      this.queue.push(value);
      if (this.bound && this.queue.length > this.bound.maxQueued) this.shed(this.bound);
    }
  }

  /** How many values wait for the reader. */
  get queued(): number {
    return this.queue.length;
  }

  private shed(bound: ChannelBound<T>): void {
    const index = this.queue.findIndex(bound.droppable);
    if (index < 0) return;
    const [dropped] = this.queue.splice(index, 1);
    bound.onDrop?.(dropped);
  }

  /** Ends the channel once the values pushed so far have been read. */
  end(): void {
    this.ending = true;
    // A waiting reader means nothing is queued: it gets the end (or the failure) now.
    if (this.waiting) {
      const waiting = this.take();
      this.next().then(waiting.resolve, waiting.reject);
    }
  }

  /** Ends the channel with an error once the values pushed so far have been read. */
  fail(error: unknown): void {
    if (this.closed || this.ending) return;
    this.failure = { error };
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.ending || this.closed) {
      const failure = this.failure;
      this.failure = undefined;
      const done = this.finish();
      return failure ? Promise.reject(failure.error) : Promise.resolve(done);
    }
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject }; });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = undefined;
    const done = this.finish();
    if (this.waiting) this.take().resolve(done);
    return Promise.resolve(done);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private take() {
    const waiting = this.waiting!;
    this.waiting = undefined;
    return waiting;
  }

  private finish(): IteratorResult<T> {
    if (!this.closed) {
      this.closed = true;
      this.onClose();
    }
    return { value: undefined, done: true };
  }
}
