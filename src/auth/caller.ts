/** Who is asking: resolved from the request's token (or the server's auth mode) once per request or WebSocket connection. */
export interface Caller {
  /** Runs and uploaded images belong to this owner; null when auth is off (no owners). */
  ownerId: string | null;
  /** Sees and manages every owner's runs and images. */
  admin: boolean;
  /** The token's id and name; null when auth is off. */
  tokenId: string | null;
  name: string;
}

/** Auth off: everyone is the one anonymous caller, who sees everything (the single-user, loopback case). */
export const ANONYMOUS: Readonly<Caller> = Object.freeze({ ownerId: null, admin: true, tokenId: null, name: 'anonymous' });

/**
 * The owner to filter by: undefined for admins (no filter), else the caller's
 * owner id. A caller who is neither (no owner, no admin) sees nothing.
 */
export function ownerScope(caller: Caller): string | undefined {
  return caller.admin ? undefined : caller.ownerId ?? '\u0000nobody';
}
