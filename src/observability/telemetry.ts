import type { Losses } from '../engine/index.js';
import type { RunStatus } from '../storage/generated/enums.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { silentLogger, type Logger } from './logger.js';
import { ServiceMetrics } from './metrics.js';

/** What the telemetry reads of a run whose status changed (a RunRecord of src/runs has it; observability sits below runs). */
export interface RunStatusReport {
  id: string;
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  currentEpoch: number;
  params: { epochs: number };
  backend: string | null;
  error: string | null;
}

/** What the engine threads of this process have said, for readiness. */
export type EngineState =
  | { state: 'not-started' }
  | { state: 'ready'; backend: string; device: string }
  /** A job failed in the last thread: it was ended and a fresh one is starting. */
  | { state: 'replacing' }
  | { state: 'failed'; message: string };

export interface EngineMeasurements {
  numTensors: number;
  numBytes: number;
  stepMs: number[];
}

export interface FinishedEpochReport {
  runId: string;
  epoch: number;
  epochs: number;
  step: number;
  losses: Losses;
  /** The run's optimisation time to the end of this epoch (over restarts). */
  elapsedMs: number;
  /** This epoch alone. */
  epochMs: number;
  backend: string;
}

/** One subscriber's feed, as metrics see it. */
export interface SubscriptionTelemetry {
  sent(): void;
  /** `slow`: shed for a subscriber that did not keep up; `closed`: still queued when it left. */
  dropped(reason: 'slow' | 'closed', count?: number): void;
  closed(): void;
}

/**
 * The one object the service's parts report to: it writes the log lines and
 * moves the metrics. Parts that are built without one (in tests) get
 * `Telemetry.silent()`, which logs nothing and whose metrics nobody reads.
 */
export class Telemetry {
  private engineState: EngineState = { state: 'not-started' };

  constructor(readonly logger: Logger, readonly metrics: ServiceMetrics) {}

  static silent(prisma?: PrismaClient): Telemetry {
    return new Telemetry(silentLogger(), new ServiceMetrics(prisma, { processMetrics: false }));
  }

  get engine(): EngineState {
    return this.engineState;
  }

  /** A run entered `run.status` (the write is committed). */
  runStatusChanged(run: RunStatusReport): void {
    const { status } = run;
    this.metrics.statusChanges.inc({ status });
    if (status === 'RUNNING' && run.startedAt) {
      this.metrics.queueWait.observe(Math.max(0, run.startedAt.getTime() - run.createdAt.getTime()) / 1000);
    }
    // Only a final status sets finishedAt.
    if (run.startedAt && run.finishedAt) {
      this.metrics.runDuration.observe({ status }, Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
    }
    const fields = {
      runId: run.id,
      status,
      epoch: run.currentEpoch,
      epochs: run.params.epochs,
      ...(run.backend ? { backend: run.backend } : {}),
      ...(run.error ? { error: run.error } : {}),
    };
    if (status === 'FAILED') this.logger.warn(fields, `run ${status}`);
    else this.logger.info(fields, `run ${status}`);
  }

  epochFinished(report: FinishedEpochReport): void {
    this.metrics.epochDuration.observe({ backend: report.backend }, report.epochMs / 1000);
    this.logger.info({
      runId: report.runId,
      epoch: report.epoch,
      epochs: report.epochs,
      step: report.step,
      losses: report.losses,
      ms: Math.round(report.epochMs),
      elapsedMs: Math.round(report.elapsedMs),
      backend: report.backend,
    }, 'run epoch');
  }

  engineReady(backend: string, device: string): void {
    this.engineState = { state: 'ready', backend, device };
  }

  engineReplacing(): void {
    this.engineState = { state: 'replacing' };
    this.logger.warn('a run failed in its engine thread: that thread is ended and a fresh one started');
  }

  engineFailed(message: string): void {
    this.engineState = { state: 'failed', message };
    this.logger.error({ error: message }, 'engine thread failed to start');
  }

  engineStats(thread: number, backend: string, stats: EngineMeasurements): void {
    const labels = { thread: String(thread), backend };
    this.metrics.engineTensors.set(labels, stats.numTensors);
    this.metrics.engineTensorBytes.set(labels, stats.numBytes);
    for (const ms of stats.stepMs) this.metrics.stepDuration.observe({ backend }, ms / 1000);
  }

  engineGone(thread: number, backend: string): void {
    const labels = { thread: String(thread), backend };
    this.metrics.engineTensors.remove(labels);
    this.metrics.engineTensorBytes.remove(labels);
  }

  subscriptionOpened(): SubscriptionTelemetry {
    this.metrics.subscriptionsOpen.inc();
    let open = true;
    return {
      sent: () => this.metrics.eventsSent.inc(),
      dropped: (reason, count = 1) => {
        if (count > 0) this.metrics.eventsDropped.inc({ reason }, count);
      },
      closed: () => {
        if (open) this.metrics.subscriptionsOpen.dec();
        open = false;
      },
    };
  }
}
