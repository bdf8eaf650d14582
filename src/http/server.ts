import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveAuthPolicy } from '../auth/policy.js';
import { ConfigError } from '../config.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from '../auth/rate-limit.js';
import { TokenStore } from '../auth/tokens.js';
import { withRequestId } from '../observability/logger.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { RunService } from '../runs/run-service.js';
import type { PrismaClient } from '../storage/generated/client.js';
import type { SqlSession } from '../storage/sql-session.js';
import { createApiServices } from '../graphql/context.js';
import { apiErrorFormatter } from '../graphql/errors.js';
import type { ApiLimits } from '../runs/limits.js';
import { DEFAULT_QUERY_LIMITS, queryValidationRules } from '../graphql/query-limits.js';
import { buildApiSchema } from '../graphql/schema.js';
import { Admission, refusalHttpError } from './admission.js';
import { DEFAULT_MAX_QUEUED_RUNS, type ApiServerConfig } from './config.js';
import type { GraphQLEndSettings } from './graphql-end.js';
import { startGraphQLHttpEnd } from './graphql-http-end.js';
import { startGraphQLWsEnd } from './graphql-ws-end.js';
import { HttpError, sendHttpError } from './http-error.js';
import { IMAGES_PATH, serveImage } from './images-route.js';
import { applyCors } from './cors.js';
import { DEFAULT_ORIGIN_POLICY, OriginGuard } from './origin-guard.js';
import { serveOps, trackRequest, type OpsSources } from './ops-routes.js';
import { serveWebPage } from '../web/static.js';
import type { MovingImages } from '../images/moving-images.js';

/** GraphQL over HTTP and over WebSocket (graphql-ws), at the same path. */
export const GRAPHQL_PATH = '/graphql';

export interface ApiServer {
  /** e.g. `http://127.0.0.1:4000` (no trailing slash). */
  url: string;
  port: number;
  /** Stops taking requests, closes WebSockets (1001), lets requests in flight finish, then closes. */
  close(): Promise<void>;
}

/** A data URL is 4/3 of its image; twice that leaves room for the rest of a request, so an oversized image gets a GraphQL error naming its field. */
function maxRequestBytes(limits: ApiLimits): number {
  return 2 * Math.ceil(limits.maxImageBytes * 4 / 3) + 1024 * 1024;
}

/**
 * Serves `/graphql` (HTTP: Apollo Server; WebSocket: graphql-ws) and
 * `/images/<id>` on one node:http server. `service` is a started service
 * (src/cli/serve.ts); close this server before stopping it.
 */
export async function startApiServer(
  service: { db: { prisma: PrismaClient; sql: SqlSession }; runs: RunService; telemetry: Telemetry; ops?: OpsSources; movingImages: MovingImages },
  config: ApiServerConfig,
): Promise<ApiServer> {
  // Before anything starts: an unset STYLEGRAPH_AUTH on a non-loopback address is refused here too.
  const auth = config.auth ?? resolveAuthPolicy(undefined, config.host);
  const { telemetry } = service;
  if (auth.warning) telemetry.logger.warn(auth.warning);
  const authRequired = auth.mode === 'required';
  // Auth off: the server answers its own names and page only (CSWSH, DNS rebinding). With a token nothing is ambient.
  const wildcard = ['0.0.0.0', '::', ''].includes(config.host);
  const origins = config.origins ?? DEFAULT_ORIGIN_POLICY;
  // With auth required the front ends are a deployment's own and known: they are named, not every page on the web.
  if (authRequired && origins.allowedOrigins.includes('*')) throw new ConfigError('STYLEGRAPH_CORS_ORIGINS', '"*" is allowed only while auth is off; name the origins of the front ends');
  const guard = authRequired ? undefined : new OriginGuard(origins, [
    ...(wildcard ? [] : [config.host]),
    ...(config.publicUrl ? [new URL(config.publicUrl).host] : []),
  ]);
  const tokens = new TokenStore(service.db.prisma);
  const limiter = authRequired && config.rateLimit !== null ? new RateLimiter(service.db.sql, config.rateLimit ?? DEFAULT_RATE_LIMIT) : undefined;
  const admission = new Admission(tokens, authRequired, limiter);

  const services = createApiServices(service, config.limits, { maxQueuedRuns: config.maxQueuedRuns ?? DEFAULT_MAX_QUEUED_RUNS });
  let ownUrl = '';
  const baseUrlOf = (req: IncomingMessage) => config.publicUrl ?? (req.headers.host ? `http://${req.headers.host}` : ownUrl);
  const introspection = config.introspection ?? !authRequired;
  const graphQL: GraphQLEndSettings = {
    schema: buildApiSchema(),
    validationRules: queryValidationRules({ introspection }),
    queryLimits: { ...DEFAULT_QUERY_LIMITS, ...config.queryLimits },
    formatError: apiErrorFormatter(telemetry.logger),
    contextFor: (req, caller) => ({ ...services, baseUrl: baseUrlOf(req), caller, feedOptions: config.feed }),
  };
  const bodyLimit = maxRequestBytes(config.limits);
  const httpServer = createServer();
  const webSocketEnd = startGraphQLWsEnd({
    ...graphQL,
    httpServer,
    path: GRAPHQL_PATH,
    maxPayload: bodyLimit,
    guard,
    admission,
    authRequired,
    tokens,
    maxSubscriptions: config.maxSubscriptionsPerConnection ?? 100,
    logger: telemetry.logger,
  });
  const httpEnd = await startGraphQLHttpEnd({ ...graphQL, httpServer, introspection, maxBodyBytes: bodyLimit, drain: () => webSocketEnd.close() });

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // One log line per request, with its id; lines logged while it is handled carry the id too.
    const requestId = trackRequest(telemetry, req, res);
    withRequestId(requestId, () => route(req, res)).catch((err: unknown) => {
      if (err instanceof HttpError) return sendHttpError(res, err);
      telemetry.logger.error({ err, requestId }, 'HTTP request failed');
      if (!res.headersSent) sendHttpError(res, new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = guard?.refusal(req);
    if (refusal) throw new HttpError(403, 'FORBIDDEN', refusal);
    const url = new URL(req.url ?? '/', 'http://localhost');
    // /metrics, /healthz, /readyz: for the deployment's monitoring, without a token.
    if (service.ops && (await serveOps(service.ops, url.pathname, req, res))) return;
    const isGraphQL = url.pathname === GRAPHQL_PATH;
    const isImage = url.pathname.startsWith(`${IMAGES_PATH}/`);
    // Before authentication: browsers send preflights without credentials.
    if ((isGraphQL || isImage) && applyCors(req, res, origins.allowedOrigins)) return;
    if (isGraphQL || isImage) {
      const admitted = await admission.admit(req.headers.authorization);
      if ('refusal' in admitted) throw refusalHttpError(admitted.refusal);
      if (isGraphQL) return httpEnd.serve(req, res, url.search, admitted.caller);
      return serveImage(services.images, url.pathname.slice(IMAGES_PATH.length + 1), req, res, admitted.caller);
    }
    // The web page holds no data: it needs no token (it asks for one and sends it with its API calls).
    if (await serveWebPage(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; GraphQL is at ${GRAPHQL_PATH}\n`);
  }

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await httpEnd.stop(); // the port is taken, say: release the WebSocket server too
    throw err;
  }
  const { port } = httpServer.address() as AddressInfo;
  ownUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    url: ownUrl,
    port,
    close: () => httpEnd.stop(),
  };
}
