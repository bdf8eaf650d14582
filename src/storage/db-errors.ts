import { Prisma } from './generated/client.js';

/** What a database error means to the code that made the write, in one place. */

function hasCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && codes.includes(err.code);
}

/** A unique constraint refused the row: someone else wrote it first. */
export function isUniqueViolation(err: unknown): boolean {
  return hasCode(err, 'P2002');
}

/** No row matched the where clause of an update (P2025): the row is gone or not in the state the guard expects. */
export function isNoMatch(err: unknown): boolean {
  return hasCode(err, 'P2025');
}

/**
 * A write that referenced a row deleted at that moment: a foreign key the
 * row no longer satisfies (P2003), a `connect` that found nothing (P2025),
 * or a deadlock with the deletion that the server broke (P2034).
 */
export function isMissingReference(err: unknown): boolean {
  return hasCode(err, 'P2003', 'P2025', 'P2034');
}

/*
 * Database faults that pass: the server closed the connection (a restart, a
 * failover, pg_terminate_backend), could not be reached for a moment, or broke
 * a deadlock or a serialization conflict by aborting one side. The operation
 * itself was sound; done again on a fresh connection it succeeds.
 */

/** SQLSTATEs: connection exceptions (class 08), serialization failure, deadlock, admin/crash shutdown, cannot connect now, too many connections. */
const TRANSIENT_SQLSTATE = /^(08...|40001|40P01|57P01|57P02|57P03|53300)$/;
/** Prisma's codes for the same: not reachable, timed out, connection closed, write conflict or deadlock, too many connections. */
const TRANSIENT_PRISMA = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2034', 'P2037']);
/** What node-postgres and the socket say when a connection goes away under a query. */
const TRANSIENT_MESSAGE = /Connection terminated|connection error and is not queryable|ECONNRESET|ECONNREFUSED|EPIPE|server closed the connection|terminating connection/i;

/**
 * Whether `err` is such a fault (not for writes that are unsafe to repeat:
 * when the connection dies at the commit, whether the commit happened is unknown).
 */
export function isTransientDbError(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (TRANSIENT_PRISMA.has(err.code)) return true;
    // Errors the driver adapter passes through keep the database's own code (P2039 "Database error. Code: 57P01").
    const cause = (err.meta?.driverAdapterError as { cause?: { originalCode?: string; originalMessage?: string } } | undefined)?.cause;
    if (cause?.originalCode && TRANSIENT_SQLSTATE.test(cause.originalCode)) return true;
    return TRANSIENT_MESSAGE.test(cause?.originalMessage ?? err.message);
  }
  if (err instanceof Prisma.PrismaClientInitializationError || err instanceof Prisma.PrismaClientUnknownRequestError) {
    return TRANSIENT_MESSAGE.test(err.message);
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_PRISMA.has(code))) return true;
    return TRANSIENT_MESSAGE.test(err.message);
  }
  return false;
}

/** A database that stayed unreachable for the whole retry budget: a persistent outage, said as such. */
export class DatabaseUnavailable extends Error {
  constructor(readonly seconds: number, cause: unknown) {
    super(`the database could not be written for ${seconds} s (${cause instanceof Error ? cause.message.split('\n')[0].slice(0, 200) : String(cause)})`, { cause });
    this.name = 'DatabaseUnavailable';
  }
}

export interface RetryPolicy {
  /** First wait; each next one doubles, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Gives up (DatabaseUnavailable) once this long has passed since the first attempt. */
  budgetMs: number;
}

/** Rides out a restart or failover of the server (tens of seconds), not an outage. */
export const WORKER_RETRY: RetryPolicy = { initialDelayMs: 50, maxDelayMs: 2_000, budgetMs: 30_000 };

/**
 * Runs `operation` until it succeeds, retrying transient faults with
 * exponential backoff (and jitter, so that workers that lost their
 * connections together do not come back together) within the policy's
 * budget. Other errors pass at once. `operation` must be safe to repeat: a
 * transaction (rolled back when its connection died) or a guarded write.
 */
export async function retryTransient<T>(operation: () => Promise<T>, policy: RetryPolicy = WORKER_RETRY, onRetry?: (err: unknown, attempt: number) => void): Promise<T> {
  const started = Date.now();
  for (let attempt = 1, delay = policy.initialDelayMs; ; attempt++, delay = Math.min(delay * 2, policy.maxDelayMs)) {
    try {
      return await operation();
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      const wait = delay * (0.5 + Math.random() / 2);
      if (Date.now() + wait - started > policy.budgetMs) throw new DatabaseUnavailable(Math.round((Date.now() - started) / 1000), err);
      onRetry?.(err, attempt);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
