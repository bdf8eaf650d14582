import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PrismaClient } from '../storage/generated/client.js';
import type { Caller } from './caller.js';

/** Tokens look like `sg_<43 base64url characters>` (256 random bits). */
const TOKEN = /^sg_[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return `sg_${randomBytes(32).toString('base64url')}`;
}

export interface TokenInfo {
  id: string;
  name: string;
  admin: boolean;
  ownerId: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const INFO = { id: true, name: true, admin: true, ownerId: true, createdAt: true, revokedAt: true, lastUsedAt: true } as const;

/** How long a verified token is trusted without reading it again (a revocation takes at most this long to apply). */
const CACHE_MS = 2_000;
/** lastUsedAt is written at most this often per token. */
const LAST_USED_EVERY_MS = 60_000;
const MAX_CACHED = 10_000;

/**
 * API tokens: only the SHA-256 of each token is stored. Verification looks the
 * hash up by its unique index and compares it again in constant time; results
 * are cached for a moment (revocations from another process apply within CACHE_MS).
 */
export class TokenStore {
  private readonly cache = new Map<string, { caller: Caller | null; until: number }>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(private readonly prisma: PrismaClient) {}

  /** Returns the token itself (shown once) and its stored info. `owner`: share the owner of that token (id or name) instead of a new one. */
  async create(options: { name: string; admin?: boolean; owner?: string }): Promise<{ token: string; info: TokenInfo }> {
    const name = options.name.trim();
    if (!name || name.length > 100) throw new Error('a token needs a name of 1..100 characters');
    let ownerId: string | undefined;
    if (options.owner) {
      const other = await this.find(options.owner);
      if (!other) throw new Error(`no token has the id or name "${options.owner}"`);
      ownerId = other.ownerId;
    }
    const token = generateToken();
    const info = await this.prisma.$transaction(async (tx) => {
      const row = await tx.apiToken.create({ data: { name, hash: hashToken(token), admin: options.admin ?? false, ownerId: ownerId ?? '' }, select: INFO });
      // One token, one owner (its own id), unless --owner shared another token's.
      return ownerId ? row : tx.apiToken.update({ where: { id: row.id }, data: { ownerId: row.id }, select: INFO });
    });
    return { token, info };
  }

  list(): Promise<TokenInfo[]> {
    return this.prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' }, select: INFO });
  }

  /** By id or (unique among live tokens) name. */
  async find(idOrName: string): Promise<TokenInfo | null> {
    const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
    const rows = await this.prisma.apiToken.findMany({
      where: isUuid ? { id: idOrName } : { name: idOrName, revokedAt: null },
      select: INFO,
    });
    if (rows.length > 1) throw new Error(`${rows.length} tokens are named "${idOrName}"; give the id`);
    return rows[0] ?? null;
  }

  /** Null when there is no such token; revoking twice keeps the first time. */
  async revoke(idOrName: string): Promise<TokenInfo | null> {
    const found = await this.find(idOrName);
    if (!found) return null;
    if (found.revokedAt) return found;
    this.cache.clear();
    return this.prisma.apiToken.update({ where: { id: found.id }, data: { revokedAt: new Date() }, select: INFO });
  }

  /** The caller a token stands for; null for a malformed, unknown or revoked token. */
  async verify(token: string): Promise<Caller | null> {
    if (!TOKEN.test(token)) return null;
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.caller;
    const row = await this.prisma.apiToken.findUnique({ where: { hash }, select: { ...INFO, hash: true } });
    const matches = row !== null && timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'));
    const caller: Caller | null = matches && !row.revokedAt
      ? { ownerId: row.ownerId, admin: row.admin, tokenId: row.id, name: row.name }
      : null;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(hash, { caller, until: now + CACHE_MS });
    if (caller) this.touch(caller.tokenId!, now);
    return caller;
  }

  /** Of these token ids, those still valid (not revoked, not deleted): one uncached query, for the connections held open with them. */
  async live(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.apiToken.findMany({ where: { id: { in: ids }, revokedAt: null }, select: { id: true } });
    return new Set(rows.map((row) => row.id));
  }

  private touch(id: string, now: number): void {
    if ((this.lastUsedWritten.get(id) ?? 0) + LAST_USED_EVERY_MS > now) return;
    this.lastUsedWritten.set(id, now);
    this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date(now) } }).catch(() => { /* best effort */ });
  }
}

/** The token of an `Authorization: Bearer <token>` value; null when absent or not a bearer token. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
