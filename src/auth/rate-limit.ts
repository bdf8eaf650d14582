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

const MAX_KEYS = 100_000;

/** A token bucket per key (token id), in memory: each API process limits what it serves. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(private readonly config: RateLimitConfig, private readonly now: () => number = Date.now) {
    this.perMs = config.perMinute / 60_000;
  }

  /** Takes one request from `key`'s bucket; throws RateLimitError when it is empty. */
  take(key: string): void {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_KEYS) this.prune(now);
      bucket = { tokens: this.config.burst, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.config.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
    throw new RateLimitError(
      `too many requests: this token may make ${this.config.perMinute} requests a minute (bursts of ${this.config.burst}); retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
      'requests',
    );
  }

  /** Drops full buckets (keys idle long enough to have refilled). */
  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.config.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_KEYS) this.buckets.clear();
  }
}
