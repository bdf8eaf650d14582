/**
 * Large byte values (images, checkpoints) in and out of the database as
 * base64 text, decoded and encoded by PostgreSQL and by Node's Buffer, both
 * native. Prisma's own Bytes path converts them in JavaScript, byte by byte,
 * on PGlite: an 8 MiB write took 11 s and a read 1.4 s, as base64 1.6 s and
 * 0.2 s; PostgreSQL servers take the same SQL.
 */
import { Prisma } from './generated/client.js';

/** A bytea value for a raw statement: `INSERT ... VALUES (${blob(bytes)})`. */
export function blob(bytes: Uint8Array): Prisma.Sql {
  return Prisma.sql`decode(${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}, 'base64')`;
}

/** A bytea column read as base64 text: `SELECT ${blobColumn('bytes')} AS bytes`, then `fromBlob(row.bytes)`. */
export function blobColumn(column: string): Prisma.Sql {
  return Prisma.raw(`encode("${column}", 'base64')`);
}

export function fromBlob(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
