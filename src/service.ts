/**
 * The composition root: the pieces of a service (database, queue, event bus,
 * run lifecycle and service, worker, retention) built and wired once, for
 * `stylegraph serve` and for tests. The API server (src/http) builds on it.
 */
import { MIGRATIONS_DIR, type Config, type Role } from './config.js';
import { MovingImages } from './images/moving-images.js';
import { locateVideoTools, type VideoTools } from './images/video-tools.js';
import type { OpsSources } from './http/ops-routes.js';
import { HealthChecks } from './observability/health.js';
import { stderrLogger, type Logger } from './observability/logger.js';
import { ServiceMetrics } from './observability/metrics.js';
import { Telemetry } from './observability/telemetry.js';
import { RETENTION_OFF, RetentionService, type RetentionConfig } from './retention/retention.js';
import { RunQueue } from './queue/run-queue.js';
import { readStoredRunEvents } from './runs/event-log.js';
import { announceRunStep, RunEventListener } from './runs/event-listener.js';
import { RunEventBus } from './runs/events.js';
import { RunLifecycle } from './runs/lifecycle.js';
import { EngineProfiles } from './runs/engine-profiles.js';
import { RunService } from './runs/run-service.js';
import { openDatabase, type Database } from './storage/database.js';
import { OptimizationWorker } from './worker/optimization-worker.js';
import { RunLeases } from './worker/run-leases.js';

/** A started service: what the API layer (next) builds on, and how to stop it. */
export interface Service {
  db: Database;
  runs: RunService;
  /** Logs and metrics, for the layers above (the API server's request log, its subscription metrics). */
  telemetry: Telemetry;
  /** Logs, metrics and readiness checks: what /metrics, /healthz and /readyz serve. */
  ops: OpsSources;
  /** Animations and videos: how uploads are checked and runs read and write their frames. */
  movingImages: MovingImages;
  /** Stops taking runs, suspends running ones at their last checkpoint, closes the database. */
  stop(): Promise<void>;
}

/**
 * Opens the database (migrating it), starts the queue and, for workers, the
 * optimisation worker. On PostgreSQL other processes may serve and work the
 * same runs: events then come from the database's announcements.
 */
export interface ServiceOptions {
  /** Where the service logs (default: warnings and errors to stderr; `stylegraph serve` passes its logger). */
  logger?: Logger;
  /** Removal of old runs, previews and images; runs in worker roles (default off). */
  retention?: RetentionConfig;
  /** Start a worker's first engine thread at once rather than with its first run (`stylegraph serve` does). */
  warmUpEngine?: boolean;
  /** ffmpeg and ffprobe, for videos; null refuses them (default: locateVideoTools on the environment). */
  video?: VideoTools | null;
}

export async function startService(config: Config, role: Role, options: ServiceOptions = {}): Promise<Service> {
  // Without a logger (tests, tools), warnings and errors still reach stderr.
  const logger = options.logger ?? stderrLogger();
  const db = await openDatabase(config.database, MIGRATIONS_DIR, logger);
  let listener: RunEventListener | undefined;
  const telemetry = new Telemetry(logger, new ServiceMetrics(db.prisma));
  let workerRunning = false;
  const movingImages = new MovingImages(options.video === undefined ? locateVideoTools() : options.video);
  const health = new HealthChecks({
    role, sql: db.sql, migrationsDir: MIGRATIONS_DIR, engine: () => telemetry.engine, workerRunning: () => workerRunning,
  });
  try {
    const queue = await RunQueue.start(db, { pollingSeconds: config.queuePollingSeconds, logger });
    const shared = config.database.kind === 'postgres';
    const events = new RunEventBus(
      (runId, afterSeq, upToSeq) => readStoredRunEvents(db.prisma, runId, afterSeq, upToSeq),
      shared ? { kind: 'database', announceStep: (step) => announceRunStep(db.sql, step) } : { kind: 'publish' },
      logger,
    );
    if (config.database.kind === 'postgres') listener = await RunEventListener.start(config.database.url, events, logger);
    const lifecycle = new RunLifecycle(db.prisma, events, telemetry);
    const profiles = new EngineProfiles(db.prisma);
    const runs = new RunService(db.prisma, queue, lifecycle, events, profiles);
    const worker = role === 'api' ? undefined : new OptimizationWorker(
      db.prisma, queue, lifecycle, events,
      new RunLeases(db.prisma, config.workerLeaseSeconds),
      profiles,
      telemetry,
      movingImages,
      { concurrency: config.workerConcurrency, exclusive: !shared, engineThreads: config.engineThreads, warmUpEngine: options.warmUpEngine ?? false },
    );
    await worker?.start();
    workerRunning = worker !== undefined;
    // Retention is background work, like optimising: it runs with the worker, so API processes only answer requests.
    const retention = worker && new RetentionService(db.prisma, runs, options.retention ?? RETENTION_OFF, telemetry, db);
    retention?.start();
    return {
      db,
      runs,
      telemetry,
      ops: { telemetry, health },
      movingImages,
      async stop() {
        workerRunning = false;
        await retention?.stop();
        await worker?.stop();
        await listener?.stop();
        await queue.stop();
        await db.close();
      },
    };
  } catch (err) {
    await listener?.stop();
    await db.close();
    throw err;
  }
}
