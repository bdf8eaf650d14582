/**
 * The built page's static serving (src/web/static.ts): content types,
 * caching, index.html for `/`, and nothing outside the build folder.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createWebPageHandler, resolveWebPath, WEB_ROOT } from '../../src/web/static.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Raw requests: fetch would normalise `..` away before the server saw it. */
function get(port: number, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A server that asks the page handler first and answers 404 "not the page" otherwise, as the API server will. */
async function serve(root: string): Promise<{ server: Server; port: number }> {
  const handler = createWebPageHandler(root);
  const server = createServer((req, res) => {
    void handler(req, res).then((served) => {
      if (!served) res.writeHead(404, { 'content-type': 'text/plain' }).end('not the page');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('web page static serving', () => {
  let dir: string;
  let root: string;
  let server: Server;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'stylegraph-web-'));
    root = path.join(dir, 'web');
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>page</title>');
    writeFileSync(path.join(root, 'assets', 'index-AbC123.js'), 'console.log(1)');
    writeFileSync(path.join(root, 'assets', 'index-AbC123.css'), 'body{}');
    writeFileSync(path.join(root, 'favicon.svg'), '<svg/>');
    writeFileSync(path.join(root, '.env'), 'SECRET=1');
    writeFileSync(path.join(root, 'notes.unknownext'), 'x');
    writeFileSync(path.join(dir, 'secret.txt'), 'outside');
    writeFileSync(path.join(dir, 'web-evil.txt'), 'sibling');
    ({ server, port } = await serve(root));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html for / uncached, with a content security policy', async () => {
    for (const p of ['/', '/index.html', '/?utm=1']) {
      const reply = await get(port, p);
      assert.equal(reply.status, 200, p);
      assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(reply.headers['cache-control'], 'no-cache');
      assert.match(String(reply.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(reply.body, '<!doctype html><title>page</title>');
    }
  });

  it('caches hashed assets for a year and other files for an hour, with the right types', async () => {
    const js = await get(port, '/assets/index-AbC123.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    assert.equal(js.headers['content-length'], String('console.log(1)'.length));
    assert.equal(js.body, 'console.log(1)');
    const css = await get(port, '/assets/index-AbC123.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const icon = await get(port, '/favicon.svg');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
    assert.equal(icon.headers['cache-control'], 'public, max-age=3600');
  });

  it('answers HEAD without a body and revalidates with the ETag', async () => {
    const head = await get(port, '/assets/index-AbC123.js', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.ok(head.headers.etag);
    const again = await get(port, '/assets/index-AbC123.js', { headers: { 'if-none-match': String(head.headers.etag) } });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  });

  it('leaves other paths and methods to the rest of the server', async () => {
    for (const p of ['/graphql', '/images/abc', '/assets/missing.js', '/assets', '/notes.unknownext', '/index.html/x']) {
      const reply = await get(port, p);
      assert.equal(reply.status, 404, p);
      assert.equal(reply.body, 'not the page', p);
    }
    const post = await get(port, '/', { method: 'POST' });
    assert.equal(post.body, 'not the page');
  });

  it('never serves a file outside the build folder, nor dot-files', async () => {
    const attempts = [
      '/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt', '/..%5csecret.txt', '/assets/..\\..\\secret.txt', '/../web-evil.txt', '/.env', '/%2eenv',
      '//etc/passwd', '/%00index.html', '/index.html%00.js', '/%E0%A4%A', `/${'../'.repeat(8)}etc/passwd`,
    ];
    for (const p of attempts) {
      const reply = await get(port, p);
      assert.equal(reply.status, 404, p);
      assert.doesNotMatch(reply.body, /outside|sibling|SECRET|root:/, p);
    }
    assert.equal(resolveWebPath(root, '/assets/%2e%2e/index.html'), undefined);
    assert.equal(resolveWebPath(root, '/assets/index-AbC123.js'), path.join(root, 'assets', 'index-AbC123.js'));
  });

  it('says the page is not built rather than a bare 404', async () => {
    const empty = await serve(path.join(dir, 'not-built'));
    try {
      const reply = await get(empty.port, '/');
      assert.equal(reply.status, 503);
      assert.match(reply.body, /npm run build:web/);
      assert.equal((await get(empty.port, '/assets/index-AbC123.js')).status, 404);
    } finally {
      empty.server.closeAllConnections();
      await new Promise((resolve) => empty.server.close(resolve));
    }
  });

  it('serves the real build: its index.html and every asset it names', { skip: !existsSync(path.join(WEB_ROOT, 'index.html')) && 'dist/web is not built' }, async () => {
    const real = await serve(WEB_ROOT);
    try {
      const page = await get(real.port, '/');
      assert.equal(page.status, 200);
      assert.match(page.body, /<title>stylegraph/);
      const assets = [...page.body.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
      assert.ok(assets.some((a) => a.endsWith('.js')), `a script in ${page.body}`);
      assert.ok(assets.some((a) => a.endsWith('.css')), 'a stylesheet');
      for (const asset of assets) {
        const reply = await get(real.port, asset);
        assert.equal(reply.status, 200, asset);
        assert.equal(reply.body, readFileSync(path.join(WEB_ROOT, asset.slice(1)), 'utf8'), asset);
      }
    } finally {
      real.server.closeAllConnections();
      await new Promise((resolve) => real.server.close(resolve));
    }
  });
});
