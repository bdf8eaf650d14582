import { ApolloServer, HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ANONYMOUS, type Caller } from '../auth/caller.js';
import { resolveAuthPolicy } from '../auth/policy.js';
import { ConfigError } from '../config.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, RateLimitError } from '../auth/rate-limit.js';
import { bearerToken, TokenStore } from '../auth/tokens.js';
import { withRequestId } from '../observability/logger.js';
import type { RunService } from '../runs/run-service.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { createApiServices, type ApiContext } from '../graphql/context.js';
import { apiErrorFormatter } from '../graphql/errors.js';
import type { ApiLimits } from '../graphql/limits.js';
import { DEFAULT_QUERY_LIMITS, NoHttpSubscriptionsRule, queryLimitError, queryValidationRules } from '../graphql/query-limits.js';
import { buildApiSchema } from '../graphql/schema.js';
import { Gate } from '../gate.js';
import { readBody } from './body.js';
import { DEFAULT_MAX_QUEUED_RUNS, type ApiServerConfig } from './config.js';
import { HttpError, sendHttpError } from './http-error.js';
import { IMAGES_PATH, serveImage } from './images-route.js';
import { applyCors } from './cors.js';
import { DEFAULT_ORIGIN_POLICY, OriginGuard } from './origin-guard.js';
import { serveOps, trackRequest, type OpsSources } from './ops-routes.js';
import { parseMultipartRequest } from './multipart.js';
import { serveWebPage } from '../web/static.js';

/** GraphQL over HTTP and over WebSocket (graphql-ws), at the same path. */
export const GRAPHQL_PATH = '/graphql';

export interface ApiServer {
  /** e.g. `http://127.0.0.1:4000` (no trailing slash). */
  url: string;
  port: number;
  /** Stops taking requests, closes WebSockets (1001), lets requests in flight finish, then closes. */
  close(): Promise<void>;
}

/**
 * Requests with large bodies (uploads) handled at once; the others wait
 * unread, so TCP holds their bytes back. Each holds its body several times
 * over while it is parsed, decoded and stored (30 uploads of 16 MB at once
 * took a process from 0.65 to 2.6 GB).
 */
const LARGE_REQUESTS_AT_ONCE = 2;
const LARGE_REQUEST_BYTES = 1024 * 1024;

/** How often the tokens of open WebSocket connections are checked for revocation. */
const REVOCATION_CHECK_MS = 1000;

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
  service: { db: { prisma: PrismaClient }; runs: RunService; ops?: OpsSources },
  config: ApiServerConfig,
): Promise<ApiServer> {
  // Before anything starts: an unset STYLEGRAPH_AUTH on a non-loopback address is refused here too.
  const auth = config.auth ?? resolveAuthPolicy(undefined, config.host);
  const { telemetry } = service.runs;
  if (auth.warning) telemetry.logger.warn(auth.warning);
  const formatApiError = apiErrorFormatter(telemetry.logger);
  const authRequired = auth.mode === 'required';
  const tokens = new TokenStore(service.db.prisma);
  const limiter = authRequired && config.rateLimit !== null ? new RateLimiter(config.rateLimit ?? DEFAULT_RATE_LIMIT) : undefined;
  const queryLimits = { ...DEFAULT_QUERY_LIMITS, ...config.queryLimits };
  const introspection = config.introspection ?? !authRequired;
  const validationRules = queryValidationRules({ introspection });
  const maxSubscriptions = config.maxSubscriptionsPerConnection ?? 100;
  const services = createApiServices(service, config.limits, { maxQueuedRuns: config.maxQueuedRuns ?? DEFAULT_MAX_QUEUED_RUNS });
  const schema = buildApiSchema();
  const bodyLimit = maxRequestBytes(config.limits);
  const largeRequests = new Gate(LARGE_REQUESTS_AT_ONCE);
  const httpServer = createServer();
  // Auth off: the server answers its own names and page only (CSWSH, DNS rebinding). With a token nothing is ambient.
  const wildcard = ['0.0.0.0', '::', ''].includes(config.host);
  const origins = config.origins ?? DEFAULT_ORIGIN_POLICY;
  // With auth required the front ends are a deployment's own and known: they are named, not every page on the web.
  if (authRequired && origins.allowedOrigins.includes('*')) throw new ConfigError('STYLEGRAPH_CORS_ORIGINS', '"*" is allowed only while auth is off; name the origins of the front ends');
  const guard = authRequired ? undefined : new OriginGuard(origins, [
    ...(wildcard ? [] : [config.host]),
    ...(config.publicUrl ? [new URL(config.publicUrl).host] : []),
  ]);
  let ownUrl = '';
  const baseUrlOf = (req: IncomingMessage) => config.publicUrl ?? (req.headers.host ? `http://${req.headers.host}` : ownUrl);
  const contextFor = (req: IncomingMessage, caller: Caller): ApiContext => ({ ...services, baseUrl: baseUrlOf(req), caller, feedOptions: config.feed });

  /** The caller a bearer token stands for; null when auth is required and the token is missing, unknown or revoked. */
  async function authenticate(authorization: unknown): Promise<Caller | null> {
    if (!authRequired) return ANONYMOUS;
    const token = bearerToken(typeof authorization === 'string' ? authorization : null);
    return token ? tokens.verify(token) : null;
  }

  /** One request's worth of the caller's rate limit (auth required only). */
  function takeRequest(caller: Caller): void {
    if (limiter && caller.tokenId) limiter.take(caller.tokenId);
  }

  // Per WebSocket connection (graphql-ws's context object): who connected, with what, on which socket.
  const connections = new Map<object, { authorization: unknown; caller: Caller; socket: WebSocket }>();
  // A revoked token's open sockets are closed (4403) within a second, as its HTTP requests are refused within the token cache.
  const revocations = authRequired ? setInterval(() => void closeRevoked().catch((err: unknown) => {
    telemetry.logger.warn({ err }, 'checking the tokens of open WebSocket connections failed');
  }), REVOCATION_CHECK_MS) : undefined;
  revocations?.unref();
  async function closeRevoked(): Promise<void> {
    const open = [...connections.values()].filter((connection) => connection.caller.tokenId !== null);
    const live = await tokens.live([...new Set(open.map((connection) => connection.caller.tokenId!))]);
    for (const connection of open) if (!live.has(connection.caller.tokenId!)) connection.socket.close(4403, 'Forbidden');
  }
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: bodyLimit,
    verifyClient: (info, accept) => {
      const refusal = guard?.refusal(info.req);
      if (refusal) accept(false, 403, refusal);
      else accept(true);
    },
  });
  const wsCleanup = useServer<Record<string, unknown>, Record<string, never>>({
    schema,
    // Returning false closes the socket with 4403 Forbidden.
    onConnect: async (ctx) => {
      const params = ctx.connectionParams ?? {};
      const authorization = params.authorization ?? params.Authorization;
      const caller = await authenticate(authorization);
      if (!caller) return false;
      connections.set(ctx, { authorization, caller, socket: ctx.extra.socket });
      return true;
    },
    onClose: (ctx) => {
      connections.delete(ctx);
    },
    // Each operation: the token checked again (a revoked one closes the socket), the rate limit, then parse and validate with the limits.
    onSubscribe: async (ctx, _id, payload) => {
      const connection = connections.get(ctx);
      const caller = connection && await authenticate(connection.authorization);
      if (!connection || !caller) {
        ctx.extra.socket.close(4403, 'Forbidden');
        return [new GraphQLError('the token is missing, unknown or revoked', { extensions: { code: 'UNAUTHENTICATED' } })];
      }
      connection.caller = caller;
      try {
        takeRequest(caller);
      } catch (err) {
        if (!(err instanceof RateLimitError)) throw err;
        return [new GraphQLError(err.message, { extensions: { code: 'RATE_LIMITED', limit: err.limit, retryAfterSeconds: err.retryAfterSeconds } })];
      }
      if (Object.keys(ctx.subscriptions).length > maxSubscriptions) {
        return [new GraphQLError(`at most ${maxSubscriptions} operations may run at once on one connection`, { extensions: { code: 'RATE_LIMITED', limit: 'subscriptions' } })];
      }
      // The same refusals, with the same codes, as Apollo gives over HTTP.
      let document;
      try {
        document = parse(payload.query, { maxTokens: queryLimits.maxTokens });
      } catch (err) {
        if (err instanceof GraphQLError) return [withCode(err, 'GRAPHQL_PARSE_FAILED')];
        throw err;
      }
      const errors = validate(schema, document, [...specifiedRules, ...validationRules]);
      if (errors.length > 0) return errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
      const overLimit = queryLimitError(document, payload.operationName, payload.variables, queryLimits);
      if (overLimit) return [overLimit];
      return { schema, document, variableValues: payload.variables, operationName: payload.operationName };
    },
    context: (ctx): ApiContext => contextFor(ctx.extra.request, connections.get(ctx)?.caller ?? NOBODY),
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors ? { ...result, errors: result.errors.map((error) => formatApiError(error.toJSON(), error)) } : undefined,
  }, wsServer);

  const apollo = new ApolloServer<ApiContext>({
    schema,
    formatError: formatApiError,
    includeStacktraceInErrorResponses: false,
    // Introspection is one of the validation rules (the same for WebSocket operations).
    introspection: true,
    validationRules: [...validationRules, NoHttpSubscriptionsRule],
    parseOptions: { maxTokens: queryLimits.maxTokens },
    allowBatchedHttpRequests: false,
    // stylegraph serve shuts down in its own order (API, then worker, then database); Apollo's
    // own handler would stop it early and then re-raise the signal, killing the process mid-shutdown.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // A browser's GET /graphql gets Apollo Sandbox, whatever NODE_ENV says, wherever it can read the schema;
      // without introspection it could show nothing, so there is no landing page then. Sandbox sends its
      // requests from this page (same origin); it reports nothing to Apollo.
      introspection
        ? ApolloServerPluginLandingPageLocalDefault({ embed: { runTelemetry: false }, includeCookies: false, footer: false })
        : ApolloServerPluginLandingPageDisabled(),
      // The limits, once Apollo has parsed and validated the document and knows the variables.
      {
        async requestDidStart() {
          return {
            async didResolveOperation({ document, request }) {
              const overLimit = queryLimitError(document, request.operationName, request.variables, queryLimits);
              // Status 400, as for Apollo's own refusals (it reads `http` and does not send it on).
              if (overLimit) throw new GraphQLError(overLimit.message, { extensions: { ...overLimit.extensions, http: { status: 400 } } });
            },
          };
        },
      },
      { async serverWillStart() { return { async drainServer() { clearInterval(revocations); await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

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
      const caller = await authenticate(req.headers.authorization);
      if (!caller) {
        throw new HttpError(401, 'UNAUTHENTICATED', 'send "Authorization: Bearer <token>" with a valid, unrevoked API token', {
          headers: { 'www-authenticate': 'Bearer realm="stylegraph"' },
        });
      }
      try {
        takeRequest(caller);
      } catch (err) {
        if (!(err instanceof RateLimitError)) throw err;
        throw new HttpError(429, 'RATE_LIMITED', err.message, {
          extensions: { limit: err.limit, retryAfterSeconds: err.retryAfterSeconds },
          headers: { 'retry-after': String(err.retryAfterSeconds) },
        });
      }
      if (isGraphQL) {
        // A body of unknown length (chunked) counts as large.
        const length = req.method === 'POST' ? Number(req.headers['content-length'] ?? Infinity) : 0;
        return length > LARGE_REQUEST_BYTES ? largeRequests.run(() => serveGraphQL(req, res, url.search, caller)) : serveGraphQL(req, res, url.search, caller);
      }
      return serveImage(services.images, url.pathname.slice(IMAGES_PATH.length + 1), req, res, caller);
    }
    // The web page holds no data: it needs no token (it asks for one and sends it with its API calls).
    if (await serveWebPage(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; GraphQL is at ${GRAPHQL_PATH}\n`);
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, search: string, caller: Caller): Promise<void> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    // Apollo runs only queries over GET (a mutation is refused, 405), so a GET cannot change anything
    // and needs no proof against cross-site forgery: clients such as urql send GET queries with no
    // content type, which Apollo's CSRF rule would refuse. POST keeps the rule.
    if (req.method === 'GET') headers.set('apollo-require-preflight', 'GET');
    const body = req.method === 'POST' ? await graphQLBody(req, headers) : undefined;
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: async () => contextFor(req, caller),
    });
    await send(res, response);
  }

  /** The parsed body Apollo expects; a multipart request becomes its JSON equivalent (and `headers` say so). */
  async function graphQLBody(req: IncomingMessage, headers: HeaderMap): Promise<unknown> {
    const raw = await readBody(req, bodyLimit);
    const contentType = headers.get('content-type') ?? '';
    if (/^multipart\/form-data\b/i.test(contentType)) {
      // Apollo's CSRF rule, which it cannot apply to the JSON body this becomes: a simple
      // (cross-site) form post must not upload, so the client proves it can set headers.
      if (!headers.get('apollo-require-preflight') && !headers.get('x-apollo-operation-name')) {
        throw new HttpError(400, 'BAD_REQUEST', 'multipart requests need an "apollo-require-preflight: true" header (cross-site request forgery protection)');
      }
      const operations = await parseMultipartRequest(raw, contentType);
      headers.set('content-type', 'application/json');
      return operations;
    }
    if (/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'BAD_REQUEST', 'the body is not valid JSON');
      }
    }
    return raw.toString('utf8');
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
    await apollo.stop(); // the port is taken, say: release the WebSocket server too
    throw err;
  }
  const { port } = httpServer.address() as AddressInfo;
  ownUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    url: ownUrl,
    port,
    close: () => apollo.stop(),
  };
}

/** The error with `code` in its extensions (graphql-js leaves parse and validation errors without one). */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: { ...error.extensions, code } });
}

/** A caller who may see nothing (a WebSocket operation without a connection record: never expected). */
const NOBODY: Caller = Object.freeze({ ownerId: null, admin: false, tokenId: null, name: 'nobody' });

async function send(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

