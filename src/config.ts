import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Which parts of the service a process runs (`stylegraph serve --role ...`). */
export type Role = 'api' | 'worker' | 'all';
export const ROLES: readonly Role[] = ['api', 'worker', 'all'];

export type DatabaseConfig =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgres'; url: string };

export interface Config {
  database: DatabaseConfig;
  /** How many runs one worker process optimises at once (default 1: one GPU). */
  workerConcurrency: number;
  /** How often an idle worker looks for queued runs when nothing wakes it. */
  queuePollingSeconds: number;
  /**
   * How long a worker holds a run without renewing its lease (it renews every
   * third of this). A run of a worker that died is resumed elsewhere after at
   * most this plus a third, plus the queue's polling.
   */
  workerLeaseSeconds: number;
  /** Threads each engine computes with on the CPU (the WebAssembly backend's). */
  engineThreads: number;
}

/** The folder that holds package.json, prisma/ and dist/ (this file compiles to dist/src/config.js). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations');
/** The stylegraph version (package.json's): `stylegraph --version`, serviceInfo.version. */
export const VERSION: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(name, `expected a positive integer, got "${raw}"`);
  return value;
}

function databaseConfig(env: NodeJS.ProcessEnv): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new ConfigError('DATABASE_URL', 'only postgresql://... URLs are supported (unset it to use the embedded database)');
    }
    return { kind: 'postgres', url };
  }
  return { kind: 'pglite', dataDir: path.resolve(env.STYLEGRAPH_DATA_DIR || 'data') };
}

/**
 * STYLEGRAPH_THREADS, else the machine's cores shared out among the engines
 * that compute at once (`concurrency`), at least one each.
 */
export function engineThreads(env: NodeJS.ProcessEnv, concurrency: number): number {
  return positiveInteger(env, 'STYLEGRAPH_THREADS', Math.max(1, Math.floor(os.availableParallelism() / concurrency)));
}

/** Reads the environment; every setting has a default that needs no set-up. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const workerConcurrency = positiveInteger(env, 'STYLEGRAPH_WORKER_CONCURRENCY', 1);
  return {
    database: databaseConfig(env),
    workerConcurrency,
    queuePollingSeconds: positiveInteger(env, 'STYLEGRAPH_QUEUE_POLLING_SECONDS', 2),
    workerLeaseSeconds: positiveInteger(env, 'STYLEGRAPH_WORKER_LEASE_SECONDS', 30),
    engineThreads: engineThreads(env, workerConcurrency),
  };
}
