import type { ServerResponse } from 'node:http';

/** A request refused before GraphQL sees it (too large, malformed); answered as a GraphQL-shaped JSON error. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendHttpError(res: ServerResponse, err: HttpError): void {
  const body = JSON.stringify({ errors: [{ message: err.message, extensions: { code: err.code } }] });
  // The rest of a refused body is not read: close the connection rather than leave it half-read.
  res.writeHead(err.status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' }).end(body);
}
