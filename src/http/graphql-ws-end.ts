import { GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Caller } from '../auth/caller.js';
import type { TokenStore } from '../auth/tokens.js';
import type { ApiContext } from '../graphql/context.js';
import { queryLimitError } from '../graphql/query-limits.js';
import type { Logger } from '../observability/logger.js';
import { refusalGraphQLError, type Admission, type Refusal } from './admission.js';
import type { GraphQLEndSettings } from './graphql-end.js';
import type { OriginGuard } from './origin-guard.js';

/** How often the tokens of open WebSocket connections are checked for revocation. */
const REVOCATION_CHECK_MS = 1000;

export interface GraphQLWsEndOptions extends GraphQLEndSettings {
  /** The server whose upgrades to `path` are taken. */
  httpServer: Server;
  path: string;
  /** The largest message, as the largest HTTP body. */
  maxPayload: number;
  /** With auth off: which pages and Host names may open a socket. */
  guard: OriginGuard | undefined;
  admission: Admission;
  /** With auth required the tokens of open sockets are checked against `tokens` for revocation. */
  authRequired: boolean;
  tokens: TokenStore;
  /** Operations at once on one connection. */
  maxSubscriptions: number;
  logger: Logger;
}

/** GraphQL over WebSocket (graphql-ws); close it (as the server drains) to close its sockets. */
export interface GraphQLWsEnd {
  close(): Promise<void>;
}

export function startGraphQLWsEnd(options: GraphQLWsEndOptions): GraphQLWsEnd {
  const { schema, validationRules, queryLimits, formatError, contextFor, admission, tokens, maxSubscriptions } = options;
  // Per WebSocket connection (graphql-ws's context object): who connected, with what, on which socket.
  const connections = new Map<object, { authorization: unknown; caller: Caller; socket: WebSocket }>();
  // A revoked token's open sockets are closed (4403) within a second, as its HTTP requests are refused within the token cache.
  const revocations = options.authRequired ? setInterval(() => void closeRevoked().catch((err: unknown) => {
    options.logger.warn({ err }, 'checking the tokens of open WebSocket connections failed');
  }), REVOCATION_CHECK_MS) : undefined;
  revocations?.unref();
  async function closeRevoked(): Promise<void> {
    const open = [...connections.values()].filter((connection) => connection.caller.tokenId !== null);
    const live = await tokens.live([...new Set(open.map((connection) => connection.caller.tokenId!))]);
    for (const connection of open) if (!live.has(connection.caller.tokenId!)) connection.socket.close(4403, 'Forbidden');
  }
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: options.maxPayload,
    verifyClient: (info, accept) => {
      const refusal = options.guard?.refusal(info.req);
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
      const caller = await admission.authenticate(authorization);
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
      if (!connection) return refused(ctx.extra.socket, { code: 'UNAUTHENTICATED' });
      const admitted = await admission.admit(connection.authorization);
      if ('refusal' in admitted) return refused(ctx.extra.socket, admitted.refusal);
      connection.caller = admitted.caller;
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
      result.errors ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : undefined,
  }, wsServer);
  return {
    async close() {
      clearInterval(revocations);
      await wsCleanup.dispose();
    },
  };
}

/** A refused operation's error; without a valid token its socket is closed too (4403). */
function refused(socket: WebSocket, refusal: Refusal): GraphQLError[] {
  if (refusal.code === 'UNAUTHENTICATED') socket.close(4403, 'Forbidden');
  return [refusalGraphQLError(refusal)];
}

/** The error with `code` in its extensions (graphql-js leaves parse and validation errors without one). */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: { ...error.extensions, code } });
}

/** A caller who may see nothing (a WebSocket operation without a connection record: never expected). */
const NOBODY: Caller = Object.freeze({ ownerId: null, admin: false, tokenId: null, name: 'nobody' });
