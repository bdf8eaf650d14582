import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../config.js';
import { withRequestId } from '../observability/logger.js';
import type { HealthChecks } from '../observability/health.js';
import { METRICS_CONTENT_TYPE } from '../observability/metrics.js';
import type { Telemetry } from '../observability/telemetry.js';

/** What operators (Prometheus, docker-compose, Kubernetes) poll. */
export const METRICS_PATH = '/metrics';
export const HEALTHZ_PATH = '/healthz';
export const READYZ_PATH = '/readyz';
export const REQUEST_ID_HEADER = 'x-request-id';

const OPS_PATHS = new Set([METRICS_PATH, HEALTHZ_PATH, READYZ_PATH]);

/** The service parts the ops routes read; a started service (src/cli/serve.ts) has them. */
export interface OpsSources {
  telemetry: Telemetry;
  health: HealthChecks;
}

/** A client's request id if it is a sane token, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && /^[\w.:@/+=-]{1,128}$/.test(given) ? given : randomUUID();
}

/** A label for a path with few values (metrics labels must not grow with ids). */
function routeOf(pathname: string): string {
  if (pathname === '/graphql' || OPS_PATHS.has(pathname)) return pathname;
  if (pathname.startsWith('/images/')) return '/images/:id';
  return 'other';
}

/**
 * Gives the request its id (the client's `x-request-id`, or a new one),
 * echoed in the response, and logs one line when the response is finished:
 * method, path, status, ms. Polls of the ops routes are logged at debug level,
 * so that health checks every few seconds do not bury the rest.
 * Returns the id; the caller runs the request inside `withRequestId`.
 */
export function trackRequest(telemetry: Telemetry, req: IncomingMessage, res: ServerResponse): string {
  const requestId = requestIdOf(req);
  const started = performance.now();
  res.setHeader(REQUEST_ID_HEADER, requestId);
  let logged = false;
  const done = () => {
    if (logged) return;
    logged = true;
    const ms = performance.now() - started;
    const pathname = (req.url ?? '/').split('?')[0];
    const route = routeOf(pathname);
    const method = req.method ?? 'GET';
    const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
    telemetry.metrics.httpRequests.inc({ method, route, status: String(status) });
    telemetry.metrics.httpDuration.observe({ method, route }, ms / 1000);
    const line = { requestId, method, path: pathname, status, ms: Math.round(ms * 10) / 10 };
    if (OPS_PATHS.has(pathname)) telemetry.logger.debug(line, 'request');
    else if (status >= 500) telemetry.logger.error(line, 'request');
    else telemetry.logger.info(line, 'request');
  };
  res.once('finish', done);
  res.once('close', done);
  return requestId;
}

/** Answers `/metrics`, `/healthz` and `/readyz`; false for any other path. */
export async function serveOps(ops: OpsSources, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!OPS_PATHS.has(pathname)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return true;
  }
  const noStore = { 'cache-control': 'no-store' };
  if (pathname === HEALTHZ_PATH) {
    res.writeHead(200, { ...noStore, 'content-type': 'application/json; charset=utf-8' }).end('{"status":"ok"}\n');
  } else if (pathname === READYZ_PATH) {
    const readiness = await ops.health.readiness();
    if (!readiness.ready) ops.telemetry.logger.warn({ checks: readiness.checks }, 'not ready');
    res.writeHead(readiness.ready ? 200 : 503, { ...noStore, 'content-type': 'application/json; charset=utf-8' })
      .end(`${JSON.stringify({ status: readiness.ready ? 'ready' : 'not ready', checks: readiness.checks })}\n`);
  } else {
    const text = await ops.telemetry.metrics.scrape((err) => ops.telemetry.logger.warn({ err }, 'metrics: the database could not be read'));
    res.writeHead(200, { ...noStore, 'content-type': METRICS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text);
  }
  return true;
}

export interface OpsListen {
  host: string;
  port: number;
}

/** STYLEGRAPH_OPS_PORT (unset: the ops routes are served on the API's port, and a worker serves none), on HOST. */
export function loadOpsListen(env: NodeJS.ProcessEnv = process.env): OpsListen | undefined {
  const raw = env.STYLEGRAPH_OPS_PORT;
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('STYLEGRAPH_OPS_PORT', `expected a port number 0..65535, got "${raw}"`);
  return { host: env.HOST || '127.0.0.1', port };
}

/** A server of the ops routes alone: a worker process's, or any process's when they are kept off the API's port. */
export async function startOpsServer(ops: OpsSources, listen: OpsListen): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const requestId = trackRequest(ops.telemetry, req, res);
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    withRequestId(requestId, () => serveOps(ops, pathname, req, res)).then((served) => {
      if (!served) res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found; try ${[...OPS_PATHS].join(', ')}\n`);
    }, (err: unknown) => {
      ops.telemetry.logger.error({ err, requestId }, 'HTTP request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`,
    port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
