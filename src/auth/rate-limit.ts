import type { SqlSession } from '../storage/sql-session.js';

/** Requests a caller may make: `perMinute` on average, in bursts of up to `burst`. */
export interface RateLimitConfig {
  perMinute: number;
  burst: number;
}

export const DEFAULT_RATE_LIMIT: Readonly<RateLimitConfig> = Object.freeze({ perMinute: 600, burst: 120 });

/** A refusal: `extensions.code` RATE_LIMITED, with when to try again. */
export class RateLimitError extends Error {
  constructor(message: string, readonly retryAfterSeconds: number, readonly limit: 'requests' | 'queuedRuns') {
    super(message);
    this.name = 'RateLimitError';
  }
}

/**
 * A token bucket per key (an API token's id), in the database
 * (rate_limit_buckets), so that every API process draws from the same one.
 * One statement refills and takes under the row's lock: requests racing on
 * several processes are counted one after the other. The time is the API
 * process's (`now`); a clock behind another's refills nothing and never moves
 * the bucket back in time.
 */
export class RateLimiter {
  private readonly perSecond: number;

  constructor(private readonly sql: SqlSession, private readonly config: RateLimitConfig, private readonly now: () => number = Date.now) {
    this.perSecond = config.perMinute / 60;
  }

  /** Takes one request from `key`'s bucket; throws RateLimitError when it is empty. */
  async take(key: string): Promise<void> {
    const at = new Date(this.now());
    let bucket = await this.draw(key, at);
    if (!bucket) {
      // A key's first request: a full bucket (a racing process may have made it first).
      await this.sql.query('INSERT INTO rate_limit_buckets (key, tokens, "updatedAt", allowed) VALUES ($1, $2, $3, true) ON CONFLICT (key) DO NOTHING', [key, this.config.burst, at]);
      bucket = (await this.draw(key, at))!;
    }
    if (bucket.allowed) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
    throw new RateLimitError(
      `too many requests: this token may make ${this.config.perMinute} requests a minute (bursts of ${this.config.burst}); retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
      'requests',
    );
  }

  /** The bucket refilled to `at` and, if it holds a whole request, one taken; null when the key has none yet. */
  private async draw(key: string, at: Date): Promise<{ tokens: number; allowed: boolean } | undefined> {
    const { rows } = await this.sql.query<{ tokens: number; allowed: boolean }>(
      `UPDATE rate_limit_buckets SET (tokens, "updatedAt", allowed) = (
         SELECT CASE WHEN refilled >= 1 THEN refilled - 1 ELSE refilled END, GREATEST("updatedAt", $2::timestamptz), refilled >= 1
         FROM (SELECT LEAST($3::float8, tokens + GREATEST(0, EXTRACT(EPOCH FROM $2::timestamptz - "updatedAt")) * $4::float8) AS refilled) AS bucket
       )
       WHERE key = $1
       RETURNING tokens, allowed`,
      [key, at, this.config.burst, this.perSecond],
    );
    return rows[0] && { tokens: Number(rows[0].tokens), allowed: rows[0].allowed };
  }
}
