import { ApolloServer, HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError } from 'graphql';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { ApiContext } from '../graphql/context.js';
import { NoHttpSubscriptionsRule, queryLimitError } from '../graphql/query-limits.js';
import { Gate } from '../gate.js';
import { readBody } from './body.js';
import type { GraphQLEndSettings } from './graphql-end.js';
import { HttpError } from './http-error.js';
import { parseMultipartRequest } from './multipart.js';

/**
 * Requests with large bodies (uploads) handled at once; the others wait
 * unread, so TCP holds their bytes back. Each holds its body several times
 * over while it is parsed, decoded and stored (30 uploads of 16 MB at once
 * took a process from 0.65 to 2.6 GB).
 */
const LARGE_REQUESTS_AT_ONCE = 2;
const LARGE_REQUEST_BYTES = 1024 * 1024;

export interface GraphQLHttpEndOptions extends GraphQLEndSettings {
  /** Drained (requests in flight finish) and closed when this end stops. */
  httpServer: Server;
  /** Whether clients may read the schema; Apollo Sandbox is offered only then. */
  introspection: boolean;
  maxBodyBytes: number;
  /** What else stops as the server drains (the WebSocket end). */
  drain: () => Promise<void>;
}

/** GraphQL over HTTP (Apollo Server). */
export interface GraphQLHttpEnd {
  /** Answers a request for the GraphQL path from `caller`, who has been admitted; `search` is the URL's query string. */
  serve(req: IncomingMessage, res: ServerResponse, search: string, caller: Caller): Promise<void>;
  /** Stops taking requests, lets requests in flight finish, runs `drain`, then closes the HTTP server. */
  stop(): Promise<void>;
}

export async function startGraphQLHttpEnd(options: GraphQLHttpEndOptions): Promise<GraphQLHttpEnd> {
  const { queryLimits, contextFor } = options;
  const largeRequests = new Gate(LARGE_REQUESTS_AT_ONCE);
  const apollo = new ApolloServer<ApiContext>({
    schema: options.schema,
    formatError: options.formatError,
    includeStacktraceInErrorResponses: false,
    // Introspection is one of the validation rules (the same for WebSocket operations).
    introspection: true,
    validationRules: [...options.validationRules, NoHttpSubscriptionsRule],
    parseOptions: { maxTokens: queryLimits.maxTokens },
    allowBatchedHttpRequests: false,
    // stylegraph serve shuts down in its own order (API, then worker, then database); Apollo's
    // own handler would stop it early and then re-raise the signal, killing the process mid-shutdown.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer }),
      // A browser's GET /graphql gets Apollo Sandbox, whatever NODE_ENV says, wherever it can read the schema;
      // without introspection it could show nothing, so there is no landing page then. Sandbox sends its
      // requests from this page (same origin); it reports nothing to Apollo.
      options.introspection
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
      { async serverWillStart() { return { async drainServer() { await options.drain(); } }; } },
    ],
  });
  await apollo.start();

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, search: string, caller: Caller): Promise<void> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    // Apollo runs only queries over GET (a mutation is refused, 405), so a GET cannot change anything
    // and needs no proof against cross-site forgery: clients such as urql send GET queries with no
    // content type, which Apollo's CSRF rule would refuse. POST keeps the rule.
    if (req.method === 'GET') headers.set('apollo-require-preflight', 'GET');
    const body = req.method === 'POST' ? await graphQLBody(req, headers, options.maxBodyBytes) : undefined;
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: async () => contextFor(req, caller),
    });
    await send(res, response);
  }

  return {
    serve(req, res, search, caller) {
      // A body of unknown length (chunked) counts as large.
      const length = req.method === 'POST' ? Number(req.headers['content-length'] ?? Infinity) : 0;
      return length > LARGE_REQUEST_BYTES ? largeRequests.run(() => serveGraphQL(req, res, search, caller)) : serveGraphQL(req, res, search, caller);
    },
    stop: () => apollo.stop(),
  };
}

/** The parsed body Apollo expects; a multipart request becomes its JSON equivalent (and `headers` say so). */
async function graphQLBody(req: IncomingMessage, headers: HeaderMap, maxBodyBytes: number): Promise<unknown> {
  const raw = await readBody(req, maxBodyBytes);
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
