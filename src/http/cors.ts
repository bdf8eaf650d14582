import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for web front ends served from other origins (a Vite dev server on
 * another port, say): the origins in STYLEGRAPH_CORS_ORIGINS may call the API
 * and load images. Preflights are answered before authentication, as
 * browsers send them without credentials. Off (no origin) by default.
 */

/** What a preflight may ask to send: the API's own headers and Apollo's CSRF headers. */
const ALLOWED_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, accept';
/** How long a browser may keep a preflight's answer. */
const MAX_AGE_SECONDS = 600;

/**
 * Sets the CORS headers the request's origin is owed, if any, and answers a
 * preflight. True when the request was a preflight and has been answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (allowedOrigins.length === 0) return false;
  // Answers differ by Origin: a shared cache must keep them apart.
  res.setHeader('vary', 'Origin');
  const allowed = origin !== undefined && (allowedOrigins.includes('*') || allowedOrigins.includes(origin));
  if (allowed) {
    res.setHeader('access-control-allow-origin', allowedOrigins.includes('*') ? '*' : origin);
    res.setHeader('access-control-expose-headers', 'retry-after, www-authenticate');
  }
  if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false;
  if (allowed) {
    res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    res.setHeader('access-control-max-age', String(MAX_AGE_SECONDS));
  }
  // Refused or not, a preflight is answered: without the headers above the browser refuses the request itself.
  res.writeHead(204).end();
  return true;
}
