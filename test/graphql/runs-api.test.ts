import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/config.js';
import { VGG19_PATH } from '../helpers/shared-data.js';
import { errorCodes, pngDataUrl, TestApi } from './harness.js';

const TINY = { maxDim: 32, epochs: 3, stepsPerEpoch: 2 };
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id status params { maxDim epochs stepsPerEpoch styleWeight contentWeight seed init styleBlend } contentImage { id } styleImages { id } } }';
const CANCEL = 'mutation($id: ID!) { cancelRun(id: $id) { id status finishedAt } }';

// One API server over the PGlite service (two workers); the main flow also runs on PostgreSQL (run-flow.test.ts).
describe('GraphQL API: inputs, errors, cancel, clone, history', () => {
  let api: TestApi;
  let content: string;
  let style: string;
  before(async () => {
    api = await TestApi.start('pglite', { concurrency: 2 });
    content = await api.createImage(1);
    style = await api.createImage(2);
  });
  after(() => api?.close());

  const runCount = () => api.service.db.prisma.run.count();
  const imageCount = () => api.service.db.prisma.image.count();

  test('bad run inputs give BAD_USER_INPUT naming the field, and no new run', async () => {
    const before = await runCount();
    const unknown = 'f'.repeat(64);
    const refusals: [Record<string, unknown>, string][] = [
      [{ epochs: 0 }, 'epochs'],
      [{ learningRate: 0 }, 'learningRate'],
      [{ maxDim: 4096 }, 'maxDim'], // the engine allows it; this server's limit does not
      [{ epochs: 200, stepsPerEpoch: 100 }, 'epochs'], // epochs x steps over the limit
      [{ styleBlend: [1, 2] }, 'styleBlend'],
      [{ styleBlend: [1, -1] }, 'styleBlend[1]'],
      [{ multiscale: 3, maxDim: 32 }, 'multiscale'],
      [{ styleScale: 0.4 }, 'styleImageIds[0]'], // 13 px: too small to reach block5
      [{ contentImageId: unknown }, 'contentImageId'],
      [{ contentImageId: null }, 'contentImageId'],
      [{ styleImageIds: [] }, 'styleImageIds'],
      [{ styleImageIds: [style, 'not-an-id'] }, 'styleImageIds[1]'],
      [{ cloneOf: '00000000-0000-4000-8000-000000000000' }, 'cloneOf'],
      [{ idempotencyKey: 'k'.repeat(201) }, 'idempotencyKey'],
    ];
    for (const [change, field] of refusals) {
      const response = await api.request(START, { input: { contentImageId: content, styleImageIds: [style], ...TINY, ...change } });
      assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field }], JSON.stringify(change));
      assert.equal(response.status, 200);
      assert.equal(response.data, null);
    }
    // A value of the wrong GraphQL type never reaches the resolver; still BAD_USER_INPUT, not a server error.
    const wrongType = await api.request(START, { input: { contentImageId: content, styleImageIds: [style], epochs: 'many' } });
    assert.equal(errorCodes(wrongType.errors)[0].code, 'BAD_USER_INPUT');
    assert.equal(wrongType.status, 400);
    assert.equal(await runCount(), before);
  });

  test('bad images give BAD_USER_INPUT naming dataUrl, and store nothing', async () => {
    const before = await imageCount();
    const png = await pngDataUrl(32, 32, 3);
    const refusals = [
      'not a data url',
      'data:image/png,plain-text',
      'data:image/png;base64,%%%%',
      `data:image/png;base64,${Buffer.from('hello, not an image').toString('base64')}`,
      png.slice(0, 120), // cut short: the header passes, the decode does not
    ];
    for (const dataUrl of refusals) {
      const response = await api.request('mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }', { dataUrl });
      assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }], dataUrl.slice(0, 40));
    }
    assert.equal(await imageCount(), before);
  });

  test('the same idempotency key returns the same run; reused for other parameters or images it is refused naming the key', async () => {
    const input = { contentImageId: content, styleImageIds: [style], ...TINY, idempotencyKey: 'sweep-1' };
    const first = (await api.query(START, { input })).startRun;
    const again = (await api.query(START, { input })).startRun;
    assert.equal(again.id, first.id);
    for (const change of [{ seed: 99 }, { styleImageIds: [content] }, { optimizer: 'LBFGS' }]) {
      const reply = await api.request(START, { input: { ...input, ...change } });
      assert.deepEqual(errorCodes(reply.errors), [{ code: 'BAD_USER_INPUT', field: 'idempotencyKey' }], JSON.stringify(change));
      assert.match(reply.errors![0].message, new RegExp(`was used for run ${first.id}`));
    }
    await api.query(CANCEL, { id: first.id });
  });

  test('defaults are the tutorial\'s; a clone keeps the earlier run\'s images and parameters except the overrides', async () => {
    const base = (await api.query(START, { input: { contentImageId: content, styleImageIds: [style], seed: 5, init: 'NOISE' } })).startRun;
    assert.deepEqual(base.params, {
      maxDim: 512, epochs: 10, stepsPerEpoch: 100, styleWeight: 0.01, contentWeight: 10000, seed: 5, init: 'NOISE', styleBlend: null,
    });
    const clone = (await api.query(START, { input: { cloneOf: base.id, styleWeight: 1, ...TINY } })).startRun;
    assert.notEqual(clone.id, base.id);
    assert.deepEqual(clone.params, { ...TINY, styleWeight: 1, contentWeight: 10000, seed: 5, init: 'NOISE', styleBlend: null });
    assert.deepEqual([clone.contentImage, clone.styleImages], [base.contentImage, base.styleImages]);
    for (const run of [base, clone]) await api.query(CANCEL, { id: run.id });
  });

  test('cancel a running run: the stream ends with CANCELED, before its last epoch', async () => {
    const { startRun } = await api.query(START, { input: { contentImageId: content, styleImageIds: [style], maxDim: 32, epochs: 50, stepsPerEpoch: 2 } });
    let cancel: Promise<unknown> | undefined;
    const results = await api.subscribe<{ runEvents: { kind: string; status: string; epoch: { epoch: number } | null } }>(
      'subscription($runId: ID!) { runEvents(runId: $runId) { kind status epoch { epoch } } }',
      { runId: startRun.id },
      { onResult: (result) => { if (result.data?.runEvents.kind === 'EPOCH') cancel ??= api.query(CANCEL, { id: startRun.id }); } },
    );
    const canceled = (await cancel as { cancelRun: { status: string; finishedAt: string } }).cancelRun;
    assert.equal(canceled.status, 'CANCELED');
    assert.ok(canceled.finishedAt);
    const events = results.map((r) => r.data!.runEvents);
    assert.deepEqual(events.at(-1), { kind: 'STATUS', status: 'CANCELED', epoch: null });
    assert.ok(events.filter((e) => e.kind === 'EPOCH').length < 50);
    // The picture so far stays reachable: the latest epoch's preview, though there is no result.
    const { run } = await api.query('query($id: ID!) { run(id: $id) { resultImage { id } epochs { epoch preview { id } } latestEpoch { epoch preview { id } } } }', { id: startRun.id });
    assert.equal(run.resultImage, null);
    assert.ok(run.latestEpoch?.preview, 'a canceled run keeps its latest preview');
    assert.deepEqual(run.latestEpoch, run.epochs.at(-1));
    // Cancelling again returns it as it is.
    assert.equal((await api.query(CANCEL, { id: startRun.id })).cancelRun.status, 'CANCELED');
  });

  test('not found, one convention per kind of operation: reads null, mutations and subscriptions NOT_FOUND', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      assert.deepEqual(await api.query('query($id: ID!) { run(id: $id) { id } image(id: $id) { id } }', { id }), { run: null, image: null });
      for (const mutation of [CANCEL, 'mutation($id: ID!) { deleteRun(id: $id) }']) {
        const reply = await api.request(mutation, { id });
        assert.deepEqual(errorCodes(reply.errors), [{ code: 'NOT_FOUND' }], mutation);
        assert.equal(reply.errors![0].message, `no run has id "${id}"`);
        assert.equal(reply.data, null);
      }
      // The subscription's one result is the error, then it completes.
      const results = await api.subscribe('subscription($id: ID!) { runEvents(runId: $id) { sequence } }', { id });
      assert.equal(results.length, 1);
      assert.deepEqual(errorCodes(results[0].errors as never), [{ code: 'NOT_FOUND' }]);
    }
  });

  test('history: pages newest first by cursor, filtered by status; delete removes a run', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.query(START, { input: { contentImageId: content, styleImageIds: [style], ...TINY } })).startRun.id);
    for (const id of ids) await api.query(CANCEL, { id });
    const PAGE = 'query($after: String, $status: RunStatus) { runs(first: 2, after: $after, status: $status) { edges { cursor node { id status } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }';
    const seen: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const { runs }: { runs: any } = await api.query(PAGE, { after: cursor, status: 'CANCELED' });
      for (const edge of runs.edges) assert.equal(edge.node.status, 'CANCELED');
      // Relay's page info; cursors are opaque (not the run ids).
      assert.equal(runs.pageInfo.hasPreviousPage, cursor !== null);
      assert.equal(runs.pageInfo.startCursor, runs.edges[0]?.cursor ?? null);
      assert.equal(runs.pageInfo.endCursor, runs.edges.at(-1)?.cursor ?? null);
      for (const edge of runs.edges) assert.notEqual(edge.cursor, edge.node.id);
      seen.push(...runs.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!runs.pageInfo.hasNextPage) break;
      cursor = runs.pageInfo.endCursor;
    }
    const expected = await api.service.db.prisma.run.findMany({ where: { status: 'CANCELED' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    assert.deepEqual(seen, expected.map((r) => r.id));
    assert.deepEqual(seen.slice(0, 3), [...ids].reverse());
    const notCursor = await api.request(PAGE, { after: ids[0] });
    assert.deepEqual(errorCodes(notCursor.errors), [{ code: 'BAD_USER_INPUT', field: 'after' }]);

    assert.deepEqual(await api.query('mutation($id: ID!) { deleteRun(id: $id) }', { id: ids[0] }), { deleteRun: true });
    assert.deepEqual(await api.query('query($id: ID!) { run(id: $id) { id } }', { id: ids[0] }), { run: null });
  });

  test('serviceInfo: version, backend and device in use, weights, queue length, limits', async () => {
    const { serviceInfo } = await api.query('{ serviceInfo { version backend device weights queueLength runningCount limits { maxDim maxTotalSteps maxImageBytes maxImagePixels } } }');
    const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    assert.equal(serviceInfo.version, version);
    assert.ok(serviceInfo.backend && serviceInfo.device, 'runs have run');
    assert.ok(serviceInfo.weights.endsWith(VGG19_PATH), serviceInfo.weights);
    assert.equal(serviceInfo.queueLength, await api.service.db.prisma.run.count({ where: { status: 'QUEUED' } }));
    assert.equal(serviceInfo.limits.maxDim, 2048);
  });
});

describe('GraphQL API: configured image limits', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api', limits: { maxImagePixels: 32 * 32, maxImageBytes: 4000 } });
  });
  after(() => api?.close());

  test('images over the pixel or byte limit are refused, naming dataUrl', async () => {
    assert.ok(await api.createImage(1, 32), 'at the limit');
    const before = await api.service.db.prisma.image.count();
    for (const dataUrl of [await pngDataUrl(33, 32, 2), `data:image/png;base64,${Buffer.alloc(4001).toString('base64')}`]) {
      const response = await api.request('mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }', { dataUrl });
      assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
    }
    assert.equal(await api.service.db.prisma.image.count(), before);
  });
});
