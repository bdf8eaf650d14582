/**
 * Plain SQL beside Prisma: what migrations and pg-boss need. As with
 * node-postgres, text without values may hold several statements (a script);
 * the rows are those of the last.
 */
export interface SqlSession {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}

/**
 * Plain SQL inside a Prisma interactive transaction, so that what another
 * library writes (pg-boss's job) commits or rolls back with the rows beside
 * it. Values as node-postgres takes them: undefined is NULL, objects are JSON.
 */
export function transactionSession(tx: { $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> }): SqlSession {
  return {
    async query<Row>(text: string, values: unknown[] = []) {
      const bound = values.map((value) => value === undefined ? null
        : value !== null && typeof value === 'object' && !(value instanceof Date) && !ArrayBuffer.isView(value) ? JSON.stringify(value) : value);
      return { rows: await tx.$queryRawUnsafe<Row[]>(text, ...bound) };
    },
  };
}
