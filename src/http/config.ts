import { ConfigError, positiveInteger } from '../config.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from '../graphql/limits.js';

export interface ApiServerConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The server's address as clients see it (behind a proxy, say); image URLs start with it. Default: the request's Host. */
  publicUrl?: string;
  limits: ApiLimits;
}

function port(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return 4000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError('PORT', `expected a port number 0..65535, got "${raw}"`);
  return value;
}

function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.STYLEGRAPH_PUBLIC_URL;
  if (!raw) return undefined;
  if (!/^https?:\/\/[^/]+/.test(raw)) throw new ConfigError('STYLEGRAPH_PUBLIC_URL', `expected http(s)://host[:port][/path], got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/** PORT (default 4000), HOST (default 127.0.0.1), STYLEGRAPH_PUBLIC_URL and the STYLEGRAPH_MAX_* limits. */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiServerConfig {
  return {
    host: env.HOST || '127.0.0.1',
    port: port(env),
    publicUrl: publicUrl(env),
    limits: {
      maxImageBytes: positiveInteger(env, 'STYLEGRAPH_MAX_IMAGE_BYTES', DEFAULT_API_LIMITS.maxImageBytes),
      maxImagePixels: positiveInteger(env, 'STYLEGRAPH_MAX_IMAGE_PIXELS', DEFAULT_API_LIMITS.maxImagePixels),
      maxDim: positiveInteger(env, 'STYLEGRAPH_MAX_DIM', DEFAULT_API_LIMITS.maxDim),
      maxTotalSteps: positiveInteger(env, 'STYLEGRAPH_MAX_STEPS', DEFAULT_API_LIMITS.maxTotalSteps),
    },
  };
}
