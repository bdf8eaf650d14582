/**
 * A front end served from another origin (as a Vite dev server on another
 * port is), in a real browser: with its origin in STYLEGRAPH_CORS_ORIGINS it
 * calls the API (a preflighted JSON POST), opens a subscription and loads an
 * image; a page from an origin not named cannot.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { browserMissing, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { TestApi } from '../graphql/harness.js';

/** A server of one empty page, on a port of its own: another origin than the API's. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>front end</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('a front end on another origin', { skip: browserMissing() }, () => {
  let api: TestApi;
  let browser: TestBrowser;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let image: string;

  before(async () => {
    [allowed, other] = [await pageServer(), await pageServer()];
    api = await TestApi.start('pglite', { role: 'api', origins: { allowedHosts: [], allowedOrigins: [allowed.origin] } });
    image = await api.createImage(1);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await api?.close();
    for (const page of [allowed, other]) page?.server.close();
  });

  /** What a page at `origin` gets from the API: a JSON POST, an image and a graphql-ws handshake. */
  async function fromPage(origin: string) {
    const page = await browser.context.newPage();
    try {
      await page.goto(origin);
      return await page.evaluate(async ({ api: apiUrl, image: id }) => {
        const attempt = async (f: () => Promise<unknown>) => {
          try {
            return await f();
          } catch (err) {
            return `refused: ${(err as Error).name}`;
          }
        };
        const post = await attempt(async () => {
          const response = await fetch(`${apiUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ serviceInfo { version } }' }) });
          return ((await response.json()) as { data: { serviceInfo: { version: string } } }).data.serviceInfo.version.length > 0;
        });
        const picture = await attempt(async () => (await fetch(`${apiUrl}/images/${id}`)).headers.get('content-type'));
        const socket = await new Promise((resolve) => {
          const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
          ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init' }));
          ws.onmessage = (event) => { resolve(JSON.parse(String(event.data)).type); ws.close(); };
          ws.onerror = () => resolve('refused');
        });
        return { post, picture, socket };
      }, { api: api.server.url, image });
    } finally {
      await page.close();
    }
  }

  test('the origin in STYLEGRAPH_CORS_ORIGINS calls the API, loads images and subscribes', async () => {
    assert.deepEqual(await fromPage(allowed.origin), { post: true, picture: 'image/png', socket: 'connection_ack' });
  });

  test('another origin can do none of it', async () => {
    assert.deepEqual(await fromPage(other.origin), { post: 'refused: TypeError', picture: 'refused: TypeError', socket: 'refused' });
  });
});
