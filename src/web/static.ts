/**
 * Serves the built web page (vite's output in dist/web) from the API's own
 * HTTP server, so there is no second server to start.
 *
 * - `/` (and `/index.html`) is the page: never cached, so a new build shows
 *   up at once; it names its scripts and styles by content hash.
 * - `/assets/*` are those hashed files: cached for a year, immutable.
 * - Other files at the top of the build (the icon) are cached for an hour.
 * - Anything else (e.g. `/graphql`, `/images/...`, a missing file) is not
 *   the page's: the handler answers false and leaves the response alone.
 *
 * Paths are decoded and must stay inside the build folder: `..`, encoded
 * slashes or backslashes, NUL bytes and dot-files are refused (false).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** Where `npm run build:web` writes the page: dist/web (this file runs from dist/src/web). */
export const WEB_ROOT = path.resolve(__dirname, '../../web');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=3600';
const NO_CACHE = 'no-cache';

/**
 * The page talks only to its own origin (GraphQL over HTTP and WebSocket,
 * images from /images/); uPlot sets element styles from script, which
 * style-src does not govern.
 */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export type WebPageHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Maps a request path to a file under `root`, or undefined when it cannot be one of the page's files. */
export function resolveWebPath(root: string, rawPath: string): string | undefined {
  const pathname = rawPath.split('?')[0].split('#')[0];
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const relative = decoded === '/' ? 'index.html' : decoded.slice(1);
  const segments = relative.split('/');
  // No empty segments (`//`), no `.`/`..`, no dot-files.
  if (segments.some((segment) => segment === '' || segment.startsWith('.'))) return undefined;
  const file = path.resolve(root, ...segments);
  if (file !== root && !file.startsWith(root + path.sep)) return undefined;
  return file;
}

/** A handler serving the page built into `root` (default dist/web). */
export function createWebPageHandler(root: string = WEB_ROOT): WebPageHandler {
  const base = path.resolve(root);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = resolveWebPath(base, req.url ?? '/');
    if (!file) return false;
    const extension = path.extname(file).toLowerCase();
    const type = CONTENT_TYPES[extension];
    if (!type) return false;
    let size: number;
    let mtime: Date;
    try {
      const info = await stat(file);
      if (!info.isFile()) return false;
      size = info.size;
      mtime = info.mtime;
    } catch {
      const isPage = file === path.join(base, 'index.html');
      if (!isPage) return false;
      // The server runs but the page was never built: say so rather than a bare 404.
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('The web page is not built: run `npm run build:web` (or `npm run build`).\n');
      return true;
    }

    const relative = path.relative(base, file).split(path.sep).join('/');
    const isPage = extension === '.html';
    const headers: Record<string, string> = {
      'content-type': type,
      'cache-control': isPage ? NO_CACHE : relative.startsWith('assets/') ? IMMUTABLE : SHORT,
      'x-content-type-options': 'nosniff',
      etag: `W/"${size.toString(16)}-${Math.floor(mtime.getTime()).toString(16)}"`,
      'last-modified': mtime.toUTCString(),
    };
    if (isPage) {
      headers['content-security-policy'] = PAGE_CSP;
      headers['referrer-policy'] = 'no-referrer';
    }
    if (req.headers['if-none-match'] === headers.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    headers['content-length'] = String(size);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
    return true;
  };
}

/** Serves the page built into dist/web; false when the request is not for one of its files. */
export const serveWebPage: WebPageHandler = createWebPageHandler();
