import { ApolloServer, HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RunService } from '../runs/run-service.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { createApiServices, type ApiContext } from '../graphql/context.js';
import { formatApiError } from '../graphql/errors.js';
import type { ApiLimits } from '../graphql/limits.js';
import { buildApiSchema } from '../graphql/schema.js';
import { readBody } from './body.js';
import type { ApiServerConfig } from './config.js';
import { HttpError, sendHttpError } from './http-error.js';
import { IMAGES_PATH, serveImage } from './images-route.js';
import { parseMultipartRequest } from './multipart.js';

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
  service: { db: { prisma: PrismaClient }; runs: RunService },
  config: ApiServerConfig,
): Promise<ApiServer> {
  const services = createApiServices(service, config.limits);
  const schema = buildApiSchema();
  const bodyLimit = maxRequestBytes(config.limits);
  const httpServer = createServer();
  let ownUrl = '';
  const baseUrlOf = (req: IncomingMessage) => config.publicUrl ?? (req.headers.host ? `http://${req.headers.host}` : ownUrl);

  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: bodyLimit });
  const wsCleanup = useServer<Record<string, unknown>, Record<string, never>>({
    schema,
    context: (ctx): ApiContext => ({ ...services, baseUrl: baseUrlOf(ctx.extra.request) }),
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors ? { ...result, errors: result.errors.map((error) => formatApiError(error.toJSON(), error)) } : undefined,
  }, wsServer);

  const apollo = new ApolloServer<ApiContext>({
    schema,
    formatError: formatApiError,
    includeStacktraceInErrorResponses: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendHttpError(res, err);
      console.error('stylegraph: HTTP request failed:', err);
      if (!res.headersSent) sendHttpError(res, new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === GRAPHQL_PATH) return serveGraphQL(req, res, url.search);
    if (url.pathname.startsWith(`${IMAGES_PATH}/`)) return serveImage(services.images, url.pathname.slice(IMAGES_PATH.length + 1), req, res);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; GraphQL is at ${GRAPHQL_PATH}\n`);
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, search: string): Promise<void> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const body = req.method === 'POST' ? await graphQLBody(req, headers) : undefined;
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: async () => ({ ...services, baseUrl: baseUrlOf(req) }),
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

