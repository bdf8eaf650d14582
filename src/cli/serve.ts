import { loadConfig, MIGRATIONS_DIR, ROLES, type Config, type Role } from '../config.js';
import { loadApiConfig } from '../http/config.js';
import { startApiServer, type ApiServer } from '../http/server.js';
import { RunQueue } from '../queue/run-queue.js';
import { RunEventBus } from '../runs/events.js';
import { RunLifecycle } from '../runs/lifecycle.js';
import { RunService } from '../runs/run-service.js';
import { openDatabase, type Database } from '../storage/database.js';
import { OptimisationWorker } from '../worker/optimisation-worker.js';

const USAGE = `Usage: stylegraph serve [--role api|worker|all]

  --role all      (default) serve requests and optimise runs in this process
  --role api      serve requests only; runs wait for a worker
  --role worker   optimise runs only

Environment: STYLEGRAPH_DATA_DIR (embedded database, default ./data),
DATABASE_URL (postgresql://... to use a PostgreSQL server instead),
STYLEGRAPH_WORKER_CONCURRENCY (runs at once per worker, default 1),
PORT (default 4000), HOST (default 127.0.0.1), STYLEGRAPH_PUBLIC_URL (base of
image URLs), STYLEGRAPH_MAX_IMAGE_BYTES, STYLEGRAPH_MAX_IMAGE_PIXELS,
STYLEGRAPH_MAX_DIM, STYLEGRAPH_MAX_STEPS (limits on what clients may ask for).`;

/** A started service: what the API layer (next) builds on, and how to stop it. */
export interface Service {
  db: Database;
  runs: RunService;
  /** Stops taking runs, suspends running ones at their last checkpoint, closes the database. */
  stop(): Promise<void>;
}

/** Opens the database (migrating it), starts the queue and, for workers, the optimisation worker. */
export async function startService(config: Config, role: Role): Promise<Service> {
  const db = await openDatabase(config.database, MIGRATIONS_DIR);
  try {
    const queue = await RunQueue.start(db, { pollingSeconds: config.queuePollingSeconds });
    const events = new RunEventBus();
    const lifecycle = new RunLifecycle(db.prisma, events);
    const runs = new RunService(db.prisma, queue, lifecycle, events);
    const worker = role === 'api' ? undefined : new OptimisationWorker(db.prisma, queue, lifecycle, events, config.workerConcurrency);
    await worker?.start();
    return {
      db,
      runs,
      async stop() {
        await worker?.stop();
        await queue.stop();
        await db.close();
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

function parseRole(args: string[]): Role | undefined {
  if (args.length === 0) return 'all';
  const value = args[0] === '--role' ? args[1] : args[0].startsWith('--role=') ? args[0].slice('--role='.length) : undefined;
  const rest = args.slice(args[0] === '--role' ? 2 : 1);
  return rest.length === 0 && ROLES.includes(value as Role) ? (value as Role) : undefined;
}

function describe(config: Config): string {
  return config.database.kind === 'pglite' ? `the embedded database in ${config.database.dataDir}` : 'PostgreSQL (DATABASE_URL)';
}

/** `stylegraph serve`: runs until SIGTERM or SIGINT, then shuts down in order. */
export async function serveCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const role = parseRole(args);
  if (!role) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  // Read before anything starts, so that a bad PORT or limit fails at once.
  const apiConfig = role === 'worker' ? undefined : loadApiConfig();
  const service = await startService(config, role);
  let api: ApiServer | undefined;
  try {
    api = apiConfig && (await startApiServer(service, apiConfig));
  } catch (err) {
    await service.stop();
    throw err;
  }
  console.log(`stylegraph: serving (role ${role}) on ${describe(config)}${api ? `; GraphQL at ${api.url}/graphql` : ''}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  console.log(`stylegraph: ${signal}: stopping; running runs resume from their last checkpoint at the next start`);
  // The API reads the database: it closes first.
  await api?.close();
  await service.stop();
  return 0;
}
