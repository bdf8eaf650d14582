import type { Role } from '../config.js';
import { locateVgg19 } from '../engine/index.js';
import type { SqlSession } from '../storage/sql-session.js';
import { readMigrations } from '../storage/migrations.js';
import { withTimeout } from './metrics.js';
import type { EngineState } from './telemetry.js';

/** How long one readiness check may take before it counts as failed. */
export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export interface CheckResult {
  ok: boolean;
  /** What was found, or why it failed. */
  detail: string;
  ms: number;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export interface HealthSources {
  role: Role;
  sql: SqlSession;
  migrationsDir: string;
  /** What the engine threads said; only asked where the role includes the worker. */
  engine: () => EngineState;
  /** Whether the optimisation worker takes runs; only asked where the role includes the worker. */
  workerRunning: () => boolean;
  timeoutMs?: number;
}

/**
 * `/healthz` says the process is alive (it answers); `/readyz` runs these
 * checks, each with a short timeout, and is ready only when all pass:
 * the database answers, every migration of this build is applied (and none it
 * does not know), and for a worker role: the VGG19 weights are found, no
 * engine thread failed to start (the last one reported ready, or none has been
 * needed yet), and the worker is taking runs.
 */
export class HealthChecks {
  private readonly expected: string[];

  constructor(private readonly sources: HealthSources) {
    this.expected = readMigrations(sources.migrationsDir).map((m) => m.name);
  }

  async readiness(): Promise<Readiness> {
    const checks: Record<string, () => Promise<string>> = {
      database: () => this.database(),
      migrations: () => this.migrations(),
    };
    if (this.sources.role !== 'api') {
      checks.weights = async () => this.weights();
      checks.worker = async () => {
        if (!this.sources.workerRunning()) throw new Error('the optimisation worker is not running');
        return 'taking runs';
      };
    }
    const timeoutMs = this.sources.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    const entries = await Promise.all(Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      try {
        const detail = await withTimeout(check(), timeoutMs, name);
        return [name, { ok: true, detail, ms: Math.round(performance.now() - started) }];
      } catch (err) {
        return [name, { ok: false, detail: err instanceof Error ? err.message : String(err), ms: Math.round(performance.now() - started) }];
      }
    }));
    return { ready: entries.every(([, result]) => result.ok), checks: Object.fromEntries(entries) };
  }

  private async database(): Promise<string> {
    await this.sources.sql.query('SELECT 1');
    return 'reachable';
  }

  private async migrations(): Promise<string> {
    const { rows } = await this.sources.sql.query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const applied = new Set(rows.map((row) => row.migration_name));
    const pending = this.expected.filter((name) => !applied.has(name));
    const unknown = [...applied].filter((name) => !this.expected.includes(name));
    if (pending.length > 0) throw new Error(`not applied: ${pending.join(', ')}`);
    if (unknown.length > 0) throw new Error(`applied but unknown to this build (a newer version?): ${unknown.join(', ')}`);
    return `${applied.size} applied`;
  }

  private weights(): string {
    const source = locateVgg19(); // throws WeightsNotFoundError, whose message says where it looked
    const engine = this.sources.engine();
    if (engine.state === 'failed') throw new Error(`the engine thread failed to start: ${engine.message}`);
    if (engine.state === 'replacing') throw new Error('the engine thread is being replaced after a run failed in it');
    return engine.state === 'ready'
      ? `${source.kind} ${source.path}; engine ready (${engine.backend}, ${engine.device})`
      : `${source.kind} ${source.path}; no engine thread started yet`;
  }
}
