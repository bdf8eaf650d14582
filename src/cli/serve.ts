import { loadConfig, MIGRATIONS_DIR, ROLES, type Config, type Role } from '../config.js';
import { loadApiConfig } from '../http/config.js';
import { loadOpsListen, startOpsServer, type OpsSources } from '../http/ops-routes.js';
import { startApiServer, type ApiServer } from '../http/server.js';
import { HealthChecks } from '../observability/health.js';
import { createLogger, loadLoggerOptions, stderrLogger, type Logger } from '../observability/logger.js';
import { ServiceMetrics } from '../observability/metrics.js';
import { Telemetry } from '../observability/telemetry.js';
import { loadRetentionConfig, RETENTION_OFF, RetentionService, type RetentionConfig } from '../retention/retention.js';
import { RunQueue } from '../queue/run-queue.js';
import { readStoredRunEvents } from '../runs/event-log.js';
import { RunEventListener } from '../runs/event-listener.js';
import { RunEventBus } from '../runs/events.js';
import { RunLifecycle } from '../runs/lifecycle.js';
import { EngineProfiles } from '../runs/engine-profiles.js';
import { RunService } from '../runs/run-service.js';
import { openDatabase, type Database } from '../storage/database.js';
import { OptimisationWorker } from '../worker/optimisation-worker.js';
import { RunLeases } from '../worker/run-leases.js';
import { command, UsageError } from './args.js';

const USAGE = `Usage: stylegraph serve [--role api|worker|all]

  --role all      (default) serve requests and optimise runs in this process
  --role api      serve requests only; runs wait for a worker
  --role worker   optimise runs only

Environment: STYLEGRAPH_DATA_DIR (embedded database, default ./data),
DATABASE_URL (postgresql://... to use a PostgreSQL server instead),
STYLEGRAPH_WORKER_CONCURRENCY (runs at once per worker, default 1),
STYLEGRAPH_WORKER_LEASE_SECONDS (a dead worker's runs move on after this, default 30),
PORT (default 4000), HOST (default 127.0.0.1), STYLEGRAPH_PUBLIC_URL (base of
image URLs), STYLEGRAPH_MAX_IMAGE_BYTES, STYLEGRAPH_MAX_IMAGE_PIXELS,
STYLEGRAPH_MAX_DIM, STYLEGRAPH_MAX_STEPS (limits on what clients may ask for),
STYLEGRAPH_LOG_LEVEL (trace..fatal, silent; default info), STYLEGRAPH_LOG_FORMAT
(json or pretty; default pretty on a terminal), STYLEGRAPH_OPS_PORT (serve
/metrics, /healthz, /readyz on this port instead of PORT; the only way for
--role worker), STYLEGRAPH_RETENTION_RUN_DAYS, STYLEGRAPH_RETENTION_PREVIEW_DAYS,
STYLEGRAPH_RETENTION_IMAGE_DAYS (unset: kept for good), STYLEGRAPH_RETENTION_INTERVAL_MINUTES (60),
STYLEGRAPH_AUTH (required|off; off only on loopback by default), STYLEGRAPH_INTROSPECTION,
STYLEGRAPH_RATE_LIMIT_PER_MINUTE, STYLEGRAPH_RATE_LIMIT_BURST, STYLEGRAPH_MAX_QUEUED_RUNS,
STYLEGRAPH_MAX_QUERY_DEPTH, STYLEGRAPH_MAX_QUERY_ALIASES, STYLEGRAPH_MAX_QUERY_COMPLEXITY.
The README's configuration table says what each does.`;

/** A started service: what the API layer (next) builds on, and how to stop it. */
export interface Service {
  db: Database;
  runs: RunService;
  /** Logs, metrics and readiness checks: what /metrics, /healthz and /readyz serve. */
  ops: OpsSources;
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
}

export async function startService(config: Config, role: Role, options: ServiceOptions = {}): Promise<Service> {
  // Without a logger (tests, tools), warnings and errors still reach stderr.
  const logger = options.logger ?? stderrLogger();
  const db = await openDatabase(config.database, MIGRATIONS_DIR, logger);
  let listener: RunEventListener | undefined;
  const telemetry = new Telemetry(logger, new ServiceMetrics(db.prisma));
  let workerRunning = false;
  const health = new HealthChecks({
    role, sql: db.sql, migrationsDir: MIGRATIONS_DIR, engine: () => telemetry.engine, workerRunning: () => workerRunning,
  });
  try {
    const queue = await RunQueue.start(db, { pollingSeconds: config.queuePollingSeconds, logger });
    const shared = config.database.kind === 'postgres';
    const events = new RunEventBus((runId, afterSeq, upToSeq) => readStoredRunEvents(db.prisma, runId, afterSeq, upToSeq), shared ? 'database' : 'publish', logger);
    if (config.database.kind === 'postgres') listener = await RunEventListener.start(config.database.url, events, logger);
    const lifecycle = new RunLifecycle(db.prisma, events, telemetry);
    const profiles = new EngineProfiles(db.prisma);
    const runs = new RunService(db.prisma, queue, lifecycle, events, profiles);
    const worker = role === 'api' ? undefined : new OptimisationWorker(
      db.prisma, queue, lifecycle, events,
      new RunLeases(db.prisma, config.workerLeaseSeconds),
      profiles,
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
      ops: { telemetry, health },
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

function describe(config: Config): string {
  return config.database.kind === 'pglite' ? `the embedded database in ${config.database.dataDir}` : 'PostgreSQL (DATABASE_URL)';
}

/** `stylegraph serve`: runs until SIGTERM or SIGINT, then shuts down in order. */
export const serveCommand = command({
  name: 'serve',
  usage: USAGE,
  options: { role: { type: 'string', default: 'all' } },
  run: ({ values }) => {
    if (!ROLES.includes(values.role as Role)) throw new UsageError(`--role: must be one of ${ROLES.join(', ')}`);
    return serve(values.role as Role);
  },
});

async function serve(role: Role): Promise<number> {
  const config = loadConfig();
  // Read before anything starts, so that a bad PORT or limit fails at once.
  const apiConfig = role === 'worker' ? undefined : loadApiConfig();
  const logger = createLogger(loadLoggerOptions());
  const retention = loadRetentionConfig();
  const opsListen = loadOpsListen();
  const service = await startService(config, role, { logger, retention, warmUpEngine: true });
  let api: ApiServer | undefined;
  let opsServer: ApiServer | undefined;
  try {
    // With an ops port of its own, the ops routes are served there only.
    api = apiConfig && (await startApiServer(opsListen ? { ...service, ops: undefined } : service, apiConfig));
    opsServer = opsListen && (await startOpsServer(service.ops, opsListen));
  } catch (err) {
    await api?.close();
    await service.stop();
    throw err;
  }
  logger.info({
    role,
    database: config.database.kind,
    ...(api ? { graphql: `${api.url}/graphql` } : {}),
    ...(opsServer ? { ops: opsServer.url } : {}),
  }, `serving (role ${role}) on ${describe(config)}${api ? `; GraphQL at ${api.url}/graphql` : ''}`);
  // A second signal, while stopping, ends the process at once.
  let stopping = false;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      resolve(received);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  logger.info({ signal }, `${signal}: stopping; running runs resume from their last checkpoint at the next start`);
  // The API reads the database: it closes first.
  await api?.close();
  await opsServer?.close();
  await service.stop();
  return 0;
}
