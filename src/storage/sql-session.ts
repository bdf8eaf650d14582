/**
 * Plain SQL beside Prisma: what migrations and pg-boss need. As with
 * node-postgres, text without values may hold several statements (a script);
 * the rows are those of the last.
 */
export interface SqlSession {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}
