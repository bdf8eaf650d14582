import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendName, Checkpoint, EngineSpeed } from '../engine/index.js';
import type { EngineEpoch, EngineJob, EngineStats, EngineStep, EngineThreadData, FlickerJob, FromEngine, ToEngine } from './engine-protocol.js';

/** What a job's progress is handed to. */
export interface JobHandlers {
  onEpoch(epoch: EngineEpoch): Promise<void>;
  /** Awaited before the next epoch or step is handled: progress is told in the order it was made. */
  onStep(step: EngineStep): Promise<void>;
}

/** Who hears a thread's measurements (metrics), and of its end. */
export interface EngineObserver {
  stats(engine: EngineClient, stats: EngineStats): void;
  exited(engine: EngineClient): void;
}

const THREAD_SCRIPT = path.join(__dirname, 'engine-thread.js');

/**
 * A job ended because its signal was aborted; `reason` is the signal's
 * reason. `checkpoint`: the state the optimisation stopped at, to resume from
 * (null when it had taken no step, or the job was a FAST one).
 */
export class EngineAborted extends Error {
  constructor(readonly reason: unknown, readonly checkpoint: Checkpoint | null = null) {
    super('the engine job was aborted');
    this.name = 'EngineAborted';
  }
}

/**
 * The worker's side of one engine thread. Runs one job at a time; epochs and
 * steps are handed on in the order the thread sent them, each after the
 * previous epoch's promise has settled, while the thread computes on: a step
 * never overtakes the epoch before it.
 */
export class EngineClient {
  private busy = false;
  private exited = false;
  /** A job failed in it: its backend's memory may be corrupt (a WebAssembly abort leaves it so), so it runs no more jobs. */
  private failed = false;
  private listener: ((message: FromEngine) => void) | undefined;
  private onExit: ((error: Error) => void) | undefined;
  /** Unique among this process's threads. */
  readonly threadId: number;

  private constructor(
    private readonly thread: Worker,
    readonly backend: BackendName,
    readonly device: string,
    readonly threads: number | null,
    /** Measured as the thread started. */
    readonly speed: EngineSpeed,
    private readonly observer?: EngineObserver,
  ) {
    this.threadId = thread.threadId; // kept: the Worker forgets it once the thread has exited
    thread.on('message', (message: FromEngine) => {
      if (message.type === 'stats') this.observer?.stats(this, message.stats);
      else this.listener?.(message);
    });
    thread.on('exit', (code) => {
      this.exited = true;
      this.observer?.exited(this);
      this.onExit?.(new Error(`the engine thread exited (code ${code})`));
    });
  }

  /** Starts a thread, which picks a backend (computing with `threads` on the CPU) and loads VGG19 before it is ready. */
  static start(threads: number, observer?: EngineObserver): Promise<EngineClient> {
    const thread = new Worker(THREAD_SCRIPT, { workerData: { threads } satisfies EngineThreadData });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => fail(new Error(`the engine thread exited (code ${code}) before it was ready`));
      const onMessage = (message: FromEngine) => {
        // Only our own listeners: Worker keeps internal ones (removeAllListeners would stop its port).
        thread.off('error', fail).off('exit', onExit);
        if (message.type === 'ready') resolve(new EngineClient(thread, message.backend, message.device, message.threads, message.speed, observer));
        else fail(new Error(message.type === 'failed' ? message.message : `unexpected ${message.type} from the engine thread`));
      };
      const fail = (err: Error) => {
        void thread.terminate();
        reject(err);
      };
      thread.once('error', fail).once('exit', onExit).once('message', onMessage);
    });
  }

  /** False once the thread has exited or a job failed in it: it is then replaced, not reused. */
  get usable(): boolean {
    return !this.exited && !this.failed;
  }

  /** Runs a job to its end. Rejects with EngineAborted when `signal` stops it, else with the engine's error. */
  run(job: EngineJob, { onEpoch, onStep }: JobHandlers, signal: AbortSignal): Promise<void> {
    this.claim();
    let handled = Promise.resolve();
    const send = (message: ToEngine) => this.thread.postMessage(message);
    const abort = () => send({ type: 'abort' });
    let stoppedAt: Checkpoint | null = null;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => {
        // Epochs and steps already received are handled before the job settles.
        handled.then(() => {
          if (signal.aborted) reject(new EngineAborted(signal.reason, stoppedAt));
          else if (error) reject(error);
          else resolve();
        }, reject);
      };
      this.onExit = settle;
      const handle = (work: () => Promise<void> | void) => {
        handled = handled.then(work);
        // A failing epoch handler (the database, say) ends the job.
        handled.catch(abort);
      };
      this.listener = (message) => {
        if (message.type === 'epoch') handle(() => onEpoch(message.epoch));
        else if (message.type === 'step') handle(() => onStep(message.step));
        else if (message.type === 'aborted') stoppedAt = message.checkpoint;
        else if (message.type === 'finished') settle();
        else if (message.type === 'failed') {
          this.failed = true;
          settle(new Error(message.message));
        }
      };
      send({ type: 'run', job });
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    }).finally(() => {
      signal.removeEventListener('abort', abort);
      this.listener = undefined;
      this.onExit = undefined;
      this.busy = false;
    });
  }

  /** The flicker of a finished animation (the engine's flicker), measured in the thread. */
  measureFlicker(job: FlickerJob): Promise<number | null> {
    this.claim();
    return new Promise<number | null>((resolve, reject) => {
      this.onExit = reject;
      this.listener = (message) => {
        if (message.type === 'flicker') resolve(message.flicker);
        else if (message.type === 'failed') reject(new Error(message.message));
      };
      this.thread.postMessage({ type: 'flicker', job } satisfies ToEngine);
    }).finally(() => {
      this.listener = undefined;
      this.onExit = undefined;
      this.busy = false;
    });
  }

  /** One job at a time, and none in a thread that is gone or failed. */
  private claim(): void {
    if (this.busy || !this.usable) throw new Error('engine thread is busy or unusable');
    this.busy = true;
  }

  async terminate(): Promise<void> {
    await this.thread.terminate();
  }
}
