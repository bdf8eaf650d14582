import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * With auth off, reaching the server is all the authority a request needs,
 * so a web page the user visits must not reach it through the user's
 * browser: not by a cross-origin WebSocket (browsers open those freely:
 * cross-site WebSocket hijacking), not by a POST from another origin, and not
 * by DNS rebinding (a name of the attacker's that resolves to 127.0.0.1, so
 * that the page is "same origin" with this server under the attacker's Host).
 * As Vite's dev server and Jupyter do since their rebinding advisories: the
 * Host must be one of the server's own names or an IP address (an address
 * cannot be rebound), and an Origin, when a browser sends one, must be the
 * server's own or one configured.
 *
 * With auth required a request's authority is its token, which no page can
 * make the browser send on its own: nothing is checked then.
 */

export interface OriginPolicy {
  /** Host names besides loopback names and IP addresses (STYLEGRAPH_ALLOWED_HOSTS); "*" allows any. */
  allowedHosts: string[];
  /** Origins of other web front ends that may call the API (STYLEGRAPH_CORS_ORIGINS), e.g. "https://app.example"; "*" allows any. */
  allowedOrigins: string[];
}

export const DEFAULT_ORIGIN_POLICY: Readonly<OriginPolicy> = Object.freeze({ allowedHosts: [], allowedOrigins: [] });

/** The host name of a Host header value ("name:port", "[::1]:port"), lower case; null when malformed. */
function hostName(host: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(:\d{1,5})?$/i.exec(host.trim());
  return match ? match[1].replace(/^\[|\]$/g, '').toLowerCase() : null;
}

export class OriginGuard {
  private readonly hosts: Set<string>;

  /** `ownNames`: names the server knows itself by (HOST, the public URL's host). */
  constructor(private readonly policy: OriginPolicy, ownNames: string[]) {
    this.hosts = new Set([...ownNames, ...policy.allowedHosts].map((name) => (hostName(name) ?? name).toLowerCase()));
  }

  /** Why the request must be refused, or null when it may go on. */
  refusal(req: IncomingMessage): string | null {
    const host = req.headers.host ?? '';
    if (!this.hostAllowed(host)) {
      return `the Host "${host.slice(0, 100)}" is not a name of this server; with auth off it answers only to its own names and IP addresses (add names to STYLEGRAPH_ALLOWED_HOSTS)`;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, host)) {
      return `requests from the web page at ${origin.slice(0, 100)} are not allowed; with auth off only this server's own page may call it (add origins to STYLEGRAPH_CORS_ORIGINS)`;
    }
    return null;
  }

  private hostAllowed(host: string): boolean {
    if (this.policy.allowedHosts.includes('*')) return true;
    const name = hostName(host);
    if (name === null) return false;
    return isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || this.hosts.has(name);
  }

  private originAllowed(origin: string, host: string): boolean {
    if (this.policy.allowedOrigins.includes('*') || this.policy.allowedOrigins.includes(origin)) return true;
    let url;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (a sandboxed frame, a file) and anything malformed
    }
    // The server's own page: the origin is the host it asked for (which hostAllowed checked).
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host.toLowerCase() === host.trim().toLowerCase();
  }
}
