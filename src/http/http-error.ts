import type { ServerResponse } from 'node:http';

/** A request refused before GraphQL sees it (too large, malformed); answered as a GraphQL-shaped JSON error. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** More `extensions` (e.g. retryAfterSeconds) and response headers (e.g. Retry-After). */
    readonly extra: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendHttpError(res: ServerResponse, err: HttpError): void {
  const body = JSON.stringify({ errors: [{ message: err.message, extensions: { code: err.code, ...err.extra.extensions } }] });
  // The rest of a refused body is not read: close the connection rather than leave it half-read.
  res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', connection: 'close', ...err.extra.headers }).end(body);
}
