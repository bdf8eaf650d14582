/**
 * What a page test stands on: a fresh service (embedded database, real
 * weights), its API server on 127.0.0.1 serving the built page, a browser,
 * the artifacts folder, and a GraphQL client for setting the scene through
 * the public API.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { WEB_ROOT } from '../../src/web/static.js';
import { ARTIFACTS_DIR, launchBrowser, type TestBrowser } from './browser.js';
import { startTestService, type TestService } from './service.js';

export interface PageTestbed {
  service: TestService;
  api: ApiServer;
  browser: TestBrowser;
  /** A GraphQL operation over HTTP; a GraphQL error fails the test. */
  gql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export async function startPageTestbed(): Promise<PageTestbed> {
  assert.ok(existsSync(path.join(WEB_ROOT, 'index.html')), 'the page is built (npm run build:web)');
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const service = await startTestService('pglite');
  const api = await startApiServer(service, { host: '127.0.0.1', port: 0, limits: DEFAULT_API_LIMITS });
  const browser = await launchBrowser();
  return {
    service,
    api,
    browser,
    async gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const response = await fetch(`${api.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }),
      });
      const body = await response.json() as { data?: T; errors?: unknown };
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      return body.data!;
    },
    async close() {
      await browser.close();
      await api.close();
      await service.close();
    },
  };
}
