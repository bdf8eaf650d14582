import { GraphQLError } from 'graphql';
import { ANONYMOUS, type Caller } from '../auth/caller.js';
import { RateLimitError, type RateLimiter } from '../auth/rate-limit.js';
import { bearerToken, type TokenStore } from '../auth/tokens.js';
import { HttpError } from './http-error.js';

/** Why a request was not let in: no valid token, or the token's rate limit is spent. */
export type Refusal =
  | { code: 'UNAUTHENTICATED' }
  | { code: 'RATE_LIMITED'; error: RateLimitError };

/**
 * Who may make a request over HTTP or WebSocket: the bearer token's caller
 * (ANONYMOUS when auth is off), charged one request of its rate limit.
 */
export class Admission {
  /** `limiter`: requests per token (auth required only); undefined: unlimited. */
  constructor(private readonly tokens: TokenStore, private readonly authRequired: boolean, private readonly limiter: RateLimiter | undefined) {}

  /** The caller a bearer token stands for; null when auth is required and the token is missing, unknown or revoked. */
  async authenticate(authorization: unknown): Promise<Caller | null> {
    if (!this.authRequired) return ANONYMOUS;
    const token = bearerToken(typeof authorization === 'string' ? authorization : null);
    return token ? this.tokens.verify(token) : null;
  }

  /** The caller, authenticated and charged one request's worth of its rate limit; or why it is refused. */
  async admit(authorization: unknown): Promise<{ caller: Caller } | { refusal: Refusal }> {
    const caller = await this.authenticate(authorization);
    if (!caller) return { refusal: { code: 'UNAUTHENTICATED' } };
    try {
      if (this.limiter && caller.tokenId) await this.limiter.take(caller.tokenId);
    } catch (err) {
      if (!(err instanceof RateLimitError)) throw err;
      return { refusal: { code: 'RATE_LIMITED', error: err } };
    }
    return { caller };
  }
}

/**
 * What each transport says of a refusal, in one place so that they say it
 * alike: the same code and extensions; HTTP adds its status and headers. Over
 * HTTP a missing token is told how to send one; a WebSocket connection sent
 * one when it connected.
 */
function answerTo(refusal: Refusal): {
  status: number; httpMessage: string; webSocketMessage: string; extensions: Record<string, unknown>; headers: Record<string, string>;
} {
  if (refusal.code === 'UNAUTHENTICATED') {
    return {
      status: 401,
      httpMessage: 'send "Authorization: Bearer <token>" with a valid, unrevoked API token',
      webSocketMessage: 'the token is missing, unknown or revoked',
      extensions: {},
      headers: { 'www-authenticate': 'Bearer realm="stylegraph"' },
    };
  }
  const { message, limit, retryAfterSeconds } = refusal.error;
  return {
    status: 429,
    httpMessage: message,
    webSocketMessage: message,
    extensions: { limit, retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}

/** The refusal as an HTTP answer (sendHttpError). */
export function refusalHttpError(refusal: Refusal): HttpError {
  const { status, httpMessage, extensions, headers } = answerTo(refusal);
  return new HttpError(status, refusal.code, httpMessage, { extensions, headers });
}

/** The refusal as the error a WebSocket operation gets. */
export function refusalGraphQLError(refusal: Refusal): GraphQLError {
  const { webSocketMessage, extensions } = answerTo(refusal);
  return new GraphQLError(webSocketMessage, { extensions: { code: refusal.code, ...extensions } });
}
