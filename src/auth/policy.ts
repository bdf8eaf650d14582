import { isIP } from 'node:net';
import { ConfigError } from '../config.js';

export type AuthMode = 'required' | 'off';

export interface AuthPolicy {
  mode: AuthMode;
  /** Said once at start-up (auth explicitly off on a non-loopback address). */
  warning?: string;
}

/** Whether `host` is a loopback address only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/**
 * STYLEGRAPH_AUTH=required|off. Unset: off while the server listens on loopback
 * alone; on any other address an unset STYLEGRAPH_AUTH refuses to start (a
 * ConfigError saying what to set). Auth off there needs the explicit setting
 * and gets a warning: a server reachable from the network without auth never
 * starts by accident.
 */
export function resolveAuthPolicy(raw: string | undefined, host: string): AuthPolicy {
  const value = (raw ?? '').trim().toLowerCase();
  if (value !== '' && value !== 'required' && value !== 'off') {
    throw new ConfigError('STYLEGRAPH_AUTH', `expected "required" or "off", got "${raw}"`);
  }
  const loopback = isLoopbackHost(host);
  if (value === 'required') return { mode: 'required' };
  if (value === 'off') {
    return loopback ? { mode: 'off' } : {
      mode: 'off',
      warning: `stylegraph: WARNING: auth is off (STYLEGRAPH_AUTH=off) while listening on ${host}: anyone who reaches this address can see, start and delete every run`,
    };
  }
  if (loopback) return { mode: 'off' };
  throw new ConfigError(
    'STYLEGRAPH_AUTH',
    `HOST is ${host}, which is not loopback only: set STYLEGRAPH_AUTH=required (clients send "Authorization: Bearer <token>"; create tokens with \`stylegraph tokens create\`), or STYLEGRAPH_AUTH=off to serve everyone without auth`,
  );
}
