/**
 * A run watched through /metrics and the logs of a fresh server: scraped
 * before and after, values compared; the log lines carry run and request ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startService, type Service } from '../../src/service.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { VGG19_PATH } from '../helpers/shared-data.js';
import { capturingLogger, hasMetric, parseMetrics, sample, testConfig } from './helpers.js';

process.env.STYLEGRAPH_VGG19 = VGG19_PATH;

describe('metrics and logs of a run (PGlite)', () => {
  let database: TestDatabase;
  let service: Service;
  let server: ApiServer;
  const { logger, lines } = capturingLogger();

  before(async () => {
    database = await freshDatabase('pglite');
    service = await startService(testConfig(database), 'all', { logger });
    server = await startApiServer(service, { host: '127.0.0.1', port: 0, limits: DEFAULT_API_LIMITS });
  });

  after(async () => {
    await server?.close();
    await service?.stop();
    await database?.drop();
  });

  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await response.text());
  };

  const graphql = async (query: string, variables: object, requestId: string) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ query, variables }),
    });
    assert.equal(response.headers.get('x-request-id'), requestId, 'the request id is echoed');
    const body = await response.json() as { data?: any; errors?: unknown };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };

  test('healthz and readyz answer', async () => {
    const healthz = await fetch(`${server.url}/healthz`);
    assert.equal(healthz.status, 200);
    assert.ok(healthz.headers.get('x-request-id'), 'a request id is made up when none is sent');
    const readyz = await fetch(`${server.url}/readyz`);
    const body = await readyz.json() as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(readyz.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'migrations', 'weights', 'worker']);
  });

  test('the metrics move as a run goes through its life', async () => {
    const beforeRun = await scrape();
    assert.ok(hasMetric(beforeRun, 'process_resident_memory_bytes'), 'process memory');
    assert.ok(hasMetric(beforeRun, 'nodejs_heap_size_used_bytes'), 'heap');
    assert.equal(sample(beforeRun, 'stylegraph_runs', { status: 'SUCCEEDED' }), 0);
    assert.equal(sample(beforeRun, 'stylegraph_database_up'), 1);

    const image = async (seed: number, requestId: string) => (await graphql(
      'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }',
      { dataUrl: `data:image/png;base64,${(await makePng(32, 32, seed)).toString('base64')}` },
      requestId,
    )).createImage.id as string;
    const content = await image(1, 'req-upload-1');
    const style = await image(2, 'req-upload-2');
    const uploaded = await scrape();
    assert.equal(sample(uploaded, 'stylegraph_images_stored') - sample(beforeRun, 'stylegraph_images_stored'), 2);
    assert.ok(sample(uploaded, 'stylegraph_images_stored_bytes') > sample(beforeRun, 'stylegraph_images_stored_bytes'));

    const ws = createClient({ url: `${server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    try {
      const { startRun } = await graphql(
        'mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
        { input: { contentImageId: content, styleImageIds: [style], maxDim: 24, epochs: 2, stepsPerEpoch: 3, seed: 3 } },
        'req-start-1',
      );
      const runId = startRun.id as string;
      let openDuring = -1;
      const received: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.subscribe({ query: 'subscription($runId: ID!) { runEvents(runId: $runId) { sequence kind } }', variables: { runId } }, {
          next: (result) => {
            received.push(result);
            // Scraped while the subscription is open (once, at its first event).
            if (received.length === 1) void scrape().then((s) => { openDuring = sample(s, 'stylegraph_subscriptions_open'); }, reject);
          },
          error: reject,
          complete: resolve,
        });
      });
      const afterRun = await scrape();
      const delta = (name: string, labels: Record<string, string> = {}) => sample(afterRun, name, labels) - sample(beforeRun, name, labels);

      assert.equal(delta('stylegraph_runs', { status: 'SUCCEEDED' }), 1);
      assert.equal(sample(afterRun, 'stylegraph_runs', { status: 'QUEUED' }), 0);
      assert.equal(sample(afterRun, 'stylegraph_runs', { status: 'RUNNING' }), 0);
      assert.equal(sample(afterRun, 'stylegraph_queue_length'), 0);
      for (const status of ['QUEUED', 'RUNNING', 'SUCCEEDED']) {
        assert.equal(delta('stylegraph_run_status_changes_total', { status }), 1, status);
      }
      assert.equal(delta('stylegraph_queue_wait_seconds_count'), 1);
      assert.equal(delta('stylegraph_run_duration_seconds_count', { status: 'SUCCEEDED' }), 1);
      const backend = (await service.runs.getRun(runId))!.backend!;
      assert.equal(delta('stylegraph_epoch_duration_seconds_count', { backend }), 2, 'one observation per epoch');
      assert.equal(delta('stylegraph_step_duration_seconds_count', { backend }), 2 * 3, 'every step observed once (epochs x stepsPerEpoch), the first too');
      assert.ok(sample(afterRun, 'stylegraph_step_duration_seconds_sum', { backend }) > 0);
      // Two previews; the final image is the last preview.
      assert.equal(delta('stylegraph_images_stored'), 4);
      const tensors = [...afterRun].filter(([key]) => key.startsWith('stylegraph_engine_tensors{'));
      assert.equal(tensors.length, 1, 'one engine thread reports');
      assert.ok(tensors[0][1] > 0, 'it holds VGG19\'s tensors');

      // Subscriptions: open while it ran, closed after; every event it got counted as sent.
      assert.equal(openDuring, 1);
      assert.equal(sample(afterRun, 'stylegraph_subscriptions_open'), 0);
      assert.equal(delta('stylegraph_subscription_events_sent_total'), received.length);
      assert.equal(delta('stylegraph_subscription_events_dropped_total', { reason: 'slow' }), 0);
      assert.ok(delta('stylegraph_http_requests_total', { method: 'POST', route: '/graphql', status: '200' }) >= 3);

      // Logs: one line per request, per state change and per epoch, with ids.
      const requests = lines.filter((l) => l.msg === 'request');
      const start = requests.find((l) => l.requestId === 'req-start-1');
      assert.ok(start, 'the startRun request is logged');
      assert.equal(start.method, 'POST');
      assert.equal(start.path, '/graphql');
      assert.equal(start.status, 200);
      assert.equal(typeof start.ms, 'number');
      assert.equal(start.level, 'info');
      const runLines = lines.filter((l) => l.runId === runId);
      assert.deepEqual(runLines.map((l) => l.msg), ['run QUEUED', 'run RUNNING', 'run epoch', 'run epoch', 'run SUCCEEDED']);
      assert.equal(runLines[0].requestId, 'req-start-1', 'the run was created by that request');
      const epochs = runLines.filter((l) => l.msg === 'run epoch');
      assert.deepEqual(epochs.map((l) => l.epoch), [1, 2]);
      for (const line of epochs) {
        assert.equal(typeof line.losses.total, 'number');
        assert.equal(typeof line.ms, 'number');
        assert.equal(line.backend, backend);
      }
      assert.ok(lines.every((l) => typeof l.time === 'number' && l.service === 'stylegraph'));
    } finally {
      await ws.dispose();
    }
  });
});
