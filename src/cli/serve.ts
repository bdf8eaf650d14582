import { answerTokenCommands, TOKENS_CHANNEL } from '../auth/token-control.js';
import { TokenStore } from '../auth/tokens.js';
import { loadConfig, ROLES, type Config, type Role } from '../config.js';
import { loadApiConfig } from '../http/config.js';
import { loadOpsListen, startOpsServer } from '../http/ops-routes.js';
import { startApiServer, type ApiServer } from '../http/server.js';
import { createLogger, loadLoggerOptions } from '../observability/logger.js';
import { locateVideoTools } from '../images/video-tools.js';
import { loadRetentionConfig } from '../retention/retention.js';
import { startService } from '../service.js';
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
STYLEGRAPH_MAX_FRAMES, STYLEGRAPH_MAX_TOTAL_PIXELS, STYLEGRAPH_MAX_DURATION_MS,
STYLEGRAPH_MAX_DIM, STYLEGRAPH_MAX_STEPS (limits on what clients may ask for),
STYLEGRAPH_LOG_LEVEL (trace..fatal, silent; default info), STYLEGRAPH_LOG_FORMAT
(json or pretty; default pretty on a terminal), STYLEGRAPH_OPS_PORT (serve
/metrics, /healthz, /readyz on this port instead of PORT; the only way for
--role worker), STYLEGRAPH_RETENTION_RUN_DAYS, STYLEGRAPH_RETENTION_PREVIEW_DAYS,
STYLEGRAPH_RETENTION_IMAGE_DAYS (unset: kept for good), STYLEGRAPH_RETENTION_INTERVAL_MINUTES (60),
STYLEGRAPH_AUTH (required|off; off only on loopback by default), STYLEGRAPH_INTROSPECTION,
STYLEGRAPH_RATE_LIMIT_PER_MINUTE, STYLEGRAPH_RATE_LIMIT_BURST, STYLEGRAPH_MAX_QUEUED_RUNS,
STYLEGRAPH_MAX_QUERY_DEPTH, STYLEGRAPH_MAX_QUERY_ALIASES, STYLEGRAPH_MAX_QUERY_COMPLEXITY,
STYLEGRAPH_FFMPEG, STYLEGRAPH_FFPROBE (paths, or off; default the bundled ones, else the PATH's: MP4 and WebM need them).
The README's configuration table says what each does.`;

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
  const video = locateVideoTools();
  if (!video) logger.warn('no ffmpeg and ffprobe found (STYLEGRAPH_FFMPEG, STYLEGRAPH_FFPROBE): MP4 and WebM uploads are refused; GIF and WebP animations work');
  const service = await startService(config, role, { logger, retention, warmUpEngine: true, video });
  // `stylegraph tokens` cannot open the embedded database while we hold it: it asks us instead.
  service.db.control?.answer(TOKENS_CHANNEL, answerTokenCommands(new TokenStore(service.db.prisma)));
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
