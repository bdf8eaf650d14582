/**
 * Every PostgreSQL advisory lock id the service takes, in one place. They
 * are session-level locks on one bigint key, scoped to the database; two
 * uses that shared an id would wait on each other though they guard
 * different things (a replica starting would wait behind another's
 * retention sweep), so each id must differ from all the others here.
 * test/retention/retention.test.ts checks that they do.
 */
export const ADVISORY_LOCKS = {
  /**
   * Held while the committed migrations are applied at start-up
   * (src/storage/migrations.ts). Fixed by Prisma: it is the id
   * `prisma migrate` takes, so that start-ups and Prisma's tools never
   * migrate at the same time. Never change it.
   */
  prismaMigrate: 72707369,
  /**
   * Held while pg-boss installs or upgrades its schema (src/queue/run-queue.ts):
   * processes starting at once on a new database would otherwise race to
   * create it. Kept at the id it has always had, so replicas of older
   * versions still wait on it.
   */
  queueInstall: 72707370,
  /**
   * Tried (never waited on) by each retention sweep (src/retention/retention.ts):
   * one process sweeps at a time, the others skip that round. It once shared
   * queueInstall's id; a replica of an older version may still sweep beside
   * a newer one, which costs only repeated work.
   */
  retention: 72707371,
  /**
   * Taken inside the transaction that stores a run, keyed by the owner as
   * (this id, hashtext(owner)) -- PostgreSQL's two-key space, apart from the
   * single keys above: one owner's starts count their unfinished runs one
   * at a time, across every API process (src/runs/run-service.ts). Two
   * owners whose hashes collide only wait on each other.
   */
  ownerRuns: 72707372,
} as const;

export type AdvisoryLock = keyof typeof ADVISORY_LOCKS;
