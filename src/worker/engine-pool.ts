import type { Telemetry } from '../observability/telemetry.js';
import type { EngineProfiles } from '../runs/engine-profiles.js';
import { EngineClient } from './engine-client.js';

/**
 * A worker's engine threads. Each runs one job at a time and then waits, idle,
 * for the next run; a thread is started for each run that finds none idle.
 * Threads go to the runs waiting for one in the order they asked, and a thread
 * a job failed in is ended and replaced.
 */
export class EnginePool {
  private readonly idle: EngineClient[] = [];
  /** Runs waiting for an engine thread, in the order they asked: a thread that becomes free goes to the first. */
  private readonly waiters: { resolve: (engine: EngineClient) => void; reject: (err: unknown) => void }[] = [];
  /** A thread started with no run waiting for it (the warm-up, a replacement); runs wait for it before asking for one more. */
  private warmingUp: Promise<void> | undefined;
  private draining = false;
  /** Threads starting, for whatever reason: close waits for them, as each still writes its measured speed to the database. */
  private readonly starting = new Set<Promise<unknown>>();

  /** `threads`: what each thread's backend computes with on the CPU. */
  constructor(
    private readonly threads: number,
    private readonly profiles: EngineProfiles,
    private readonly telemetry: Telemetry,
  ) {}

  /**
   * Starts one thread now (backend chosen, VGG19 loaded) rather than with the
   * first run: readiness and serviceInfo can then say what this worker computes
   * on, and the first run starts sooner. A failure is kept by the telemetry
   * (readiness reports it); a run would try again.
   */
  warmUp(): void {
    this.warmingUp = this.start().then((engine) => this.release(engine), () => undefined);
  }

  /**
   * An idle engine thread, else the first one free: a new thread is started
   * for each run that waits, but goes to whichever run has waited longest (a
   * thread another run frees may come first: runs start in the order taken).
   */
  async acquire(): Promise<EngineClient> {
    await this.warmingUp;
    // An idle thread may have died (out of memory, say); it is passed over.
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) if (idle.usable) return idle;
    return new Promise<EngineClient>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiters.push(waiter);
      this.start().then((fresh) => this.release(fresh), (err: unknown) => {
        // Only the run it was started for fails; one served already by another thread has nothing to lose.
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1)[0].reject(err);
      });
    });
  }

  /**
   * To the run that has waited longest, else back to the idle ones; a thread
   * a job failed in is ended and a fresh one started at once (readiness is
   * false meanwhile). While draining, a waiting run still gets it (it is
   * suspended at once, as its signal is aborted); an idle thread is ended.
   */
  release(engine: EngineClient): void {
    const waiter = engine.usable ? this.waiters.shift() : undefined;
    if (waiter) {
      waiter.resolve(engine);
      return;
    }
    if (engine.usable && !this.draining) {
      this.idle.push(engine);
      return;
    }
    void engine.terminate();
    if (this.draining || engine.usable) return;
    this.telemetry.engineReplacing();
    const previous = this.warmingUp ?? Promise.resolve();
    this.warmingUp = previous.then(() => this.start()).then((fresh) => this.release(fresh), () => undefined);
  }

  /**
   * The worker is stopping: from now on a thread given back is ended, not
   * kept idle, and one that failed is not replaced. The idle threads are
   * left to `close`: a run taken just before may still ask for one.
   */
  drain(): void {
    this.draining = true;
  }

  /** After `drain`, once the runs have given their threads back: ends the idle threads, and one still starting as soon as it is ready. */
  async close(): Promise<void> {
    await this.warmingUp;
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.idle.splice(0).map((engine) => engine.terminate()));
  }

  private start(): Promise<EngineClient> {
    const starting = this.startThread();
    this.starting.add(starting);
    void starting.finally(() => this.starting.delete(starting)).catch(() => undefined);
    return starting;
  }

  private async startThread(): Promise<EngineClient> {
    const { telemetry } = this;
    try {
      const started = await EngineClient.start(this.threads, {
        stats: (thread, stats) => telemetry.engineStats(thread.threadId, thread.backend, stats),
        exited: (thread) => telemetry.engineGone(thread.threadId, thread.backend),
      });
      telemetry.engineReady(started.backend, started.device);
      // Estimates rest on it; a failed write costs only their accuracy.
      await this.profiles.calibrated(started).catch((err: unknown) => telemetry.logger.error({ err }, 'storing the engine\'s measured speed failed'));
      return started;
    } catch (err) {
      telemetry.engineFailed(err instanceof Error ? err.message : String(err));
      throw err;
    }
  }
}
