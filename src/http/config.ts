import { resolveAuthPolicy, type AuthPolicy } from '../auth/policy.js';
import { DEFAULT_RATE_LIMIT, type RateLimitConfig } from '../auth/rate-limit.js';
import { ConfigError, positiveInteger } from '../config.js';
import { loadApiLimits, type ApiLimits } from '../runs/limits.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../graphql/query-limits.js';
import type { FeedOptions } from '../graphql/run-event-feed.js';
import { DEFAULT_ORIGIN_POLICY, type OriginPolicy } from './origin-guard.js';

export interface ApiServerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The server's address as clients see it (behind a proxy, say); image URLs start with it. Default: the request's Host. */
  publicUrl?: string;
  limits: ApiLimits;
  /** Default: resolveAuthPolicy(undefined, host): off on loopback, refused on other addresses. */
  auth?: AuthPolicy;
  /** Default: on when auth is off, off when it is required. */
  introspection?: boolean;
  queryLimits?: Partial<QueryLimits>;
  /** Requests per token (auth required only); null: unlimited. Default DEFAULT_RATE_LIMIT. */
  rateLimit?: RateLimitConfig | null;
  /** Unfinished runs one owner may have (auth required only). Default DEFAULT_MAX_QUEUED_RUNS. */
  maxQueuedRuns?: number;
  /** Operations at once on one WebSocket connection. Default 100. */
  maxSubscriptionsPerConnection?: number;
  /** How much a runEvents subscription holds for a slow client. */
  feed?: FeedOptions;
  /** With auth off: the Host names and page origins besides the server's own that may reach it. Default none. */
  origins?: OriginPolicy;
}

export const DEFAULT_MAX_QUEUED_RUNS = 10;

function onOff(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return undefined;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `expected "on" or "off", got "${env[name]}"`);
}

function port(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return 4000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError('PORT', `expected a port number 0..65535, got "${raw}"`);
  return value;
}

/** A comma-separated list; empty when unset. */
function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function origins(env: NodeJS.ProcessEnv): OriginPolicy {
  const allowedOrigins = list(env, 'STYLEGRAPH_CORS_ORIGINS').map((origin) => origin.replace(/\/+$/, ''));
  for (const origin of allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) throw new ConfigError('STYLEGRAPH_CORS_ORIGINS', `expected origins such as https://app.example[:port], got "${origin}"`);
  }
  return { ...DEFAULT_ORIGIN_POLICY, allowedHosts: list(env, 'STYLEGRAPH_ALLOWED_HOSTS'), allowedOrigins };
}

function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.STYLEGRAPH_PUBLIC_URL;
  if (!raw) return undefined;
  if (!/^https?:\/\/[^/]+/.test(raw)) throw new ConfigError('STYLEGRAPH_PUBLIC_URL', `expected http(s)://host[:port][/path], got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/**
 * PORT (default 4000), HOST (default 127.0.0.1), STYLEGRAPH_PUBLIC_URL, the STYLEGRAPH_MAX_* limits,
 * STYLEGRAPH_AUTH (required|off), STYLEGRAPH_INTROSPECTION (on|off), STYLEGRAPH_RATE_LIMIT_PER_MINUTE,
 * STYLEGRAPH_RATE_LIMIT_BURST, STYLEGRAPH_MAX_QUEUED_RUNS, STYLEGRAPH_MAX_QUERY_DEPTH,
 * STYLEGRAPH_MAX_QUERY_ALIASES, STYLEGRAPH_MAX_QUERY_COMPLEXITY, STYLEGRAPH_ALLOWED_HOSTS and
 * STYLEGRAPH_CORS_ORIGINS.
 */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiServerConfig {
  const host = env.HOST || '127.0.0.1';
  return {
    host,
    auth: resolveAuthPolicy(env.STYLEGRAPH_AUTH, host),
    introspection: onOff(env, 'STYLEGRAPH_INTROSPECTION'),
    queryLimits: {
      maxDepth: positiveInteger(env, 'STYLEGRAPH_MAX_QUERY_DEPTH', DEFAULT_QUERY_LIMITS.maxDepth),
      maxAliases: positiveInteger(env, 'STYLEGRAPH_MAX_QUERY_ALIASES', DEFAULT_QUERY_LIMITS.maxAliases),
      maxComplexity: positiveInteger(env, 'STYLEGRAPH_MAX_QUERY_COMPLEXITY', DEFAULT_QUERY_LIMITS.maxComplexity),
    },
    rateLimit: {
      perMinute: positiveInteger(env, 'STYLEGRAPH_RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_LIMIT.perMinute),
      burst: positiveInteger(env, 'STYLEGRAPH_RATE_LIMIT_BURST', DEFAULT_RATE_LIMIT.burst),
    },
    maxQueuedRuns: positiveInteger(env, 'STYLEGRAPH_MAX_QUEUED_RUNS', DEFAULT_MAX_QUEUED_RUNS),
    port: port(env),
    publicUrl: publicUrl(env),
    origins: origins(env),
    limits: loadApiLimits(env),
  };
}
