import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

describe('stylegraph serve on the embedded database', () => {
  let database: TestDatabase;
  let served: ServeProcess;

  before(async () => {
    database = await freshDatabase('pglite');
    served = await startServe('all', database.env);
  });
  after(() => database?.drop());

  test('starts its engine at once: ready, and serviceInfo names the backend before any run', { timeout: 120_000 }, async () => {
    const endpoint = served.graphql!;
    let info: { backend: string | null; device: string | null; weights: string | null } | undefined;
    for (const started = Date.now(); Date.now() - started < 90_000; await new Promise((r) => setTimeout(r, 250))) {
      const response = await fetch(endpoint, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ serviceInfo { backend device weights } }' }),
      });
      info = ((await response.json()) as { data: { serviceInfo: typeof info } }).data.serviceInfo;
      if (info?.backend) break;
    }
    assert.equal(info?.backend, 'wasm');
    assert.match(info?.device ?? '', /WebAssembly/);
    assert.match(info?.weights ?? '', /^layers-model /);
    assert.equal((await fetch(endpoint.replace(/\/graphql$/, '/readyz'))).status, 200);
  });

  test('SIGTERM stops it cleanly', async () => {
    assert.equal(await served.stop(), 0);
  });
});
