import type { Logger } from '../observability/logger.js';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { RateLimitError } from '../auth/rate-limit.js';
import { ParamError } from '../engine/index.js';

/** Something the client named by id does not exist: `extensions.code` NOT_FOUND. */
export class NotFoundError extends Error {
  constructor(what: string, id: string) {
    super(`no ${what} has id "${id}"`);
    this.name = 'NotFoundError';
  }
}

/** graphql-js's message when a request's variables hold more errors than it reports. */
const VARIABLE_ERROR_LIMIT = 'Too many errors processing variables, error limit reached. Execution aborted.';

/**
 * The one place that turns what services throw into what clients see, for
 * HTTP (Apollo's formatError) and WebSocket (graphql-ws's onNext) alike:
 * ParamError -> BAD_USER_INPUT naming the field, NotFoundError -> NOT_FOUND,
 * anything unexpected -> INTERNAL_SERVER_ERROR without its details (logged here).
 */
export function apiErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => formatApiError(formatted, error, logger);
}

function formatApiError(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const { message, locations, path } = formatted;
  if (original instanceof ParamError) {
    return { message: original.message, locations, path, extensions: { code: 'BAD_USER_INPUT', field: original.field } };
  }
  if (original instanceof NotFoundError) {
    return { message: original.message, locations, path, extensions: { code: 'NOT_FOUND' } };
  }
  if (original instanceof RateLimitError) {
    return { message: original.message, locations, path, extensions: { code: 'RATE_LIMITED', limit: original.limit, retryAfterSeconds: original.retryAfterSeconds } };
  }
  // GraphQL's own errors (syntax, validation, coercion) and GraphQLErrors thrown on purpose are meant for clients.
  if (original == null || original instanceof GraphQLError) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    // graphql-js stops coercing variables after 50 errors with an error of no code, which Apollo calls internal: it is the input's.
    if (message === VARIABLE_ERROR_LIMIT) return { message, locations, path, extensions: { ...extensions, code: 'BAD_USER_INPUT' } };
    return { message, locations, path, extensions };
  }
  logger.error({ err: original }, 'GraphQL request failed');
  return { message: 'Internal server error', locations, path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
