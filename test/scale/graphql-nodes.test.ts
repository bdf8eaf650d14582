import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { assertStepStream, STEP_EVENTS, STEPPED_RUN, type SteppedEvent } from '../helpers/step-stream.js';

/**
 * The deployment as users run it: `stylegraph serve --role api` twice and
 * `--role worker` once on one PostgreSQL database, each its own process. A
 * client subscribes over graphql-ws on API A to a run it started over HTTP
 * on API B.
 */

async function graphql<T>(endpoint: string, query: string, variables: object = {}): Promise<T> {
  const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data: T; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** Stores a 32 px PNG through createImage on `endpoint`; returns its id. */
async function createImage(endpoint: string, seed: number): Promise<string> {
  const dataUrl = `data:image/png;base64,${(await makePng(32, 32, seed)).toString('base64')}`;
  return (await graphql<{ createImage: { id: string } }>(endpoint, 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: dataUrl })).createImage.id;
}

describe('two API nodes and a worker, each a stylegraph serve process, on PostgreSQL', () => {
  let database: TestDatabase;
  const processes: ServeProcess[] = [];
  let apiA: string;
  let apiB: string;

  before(async () => {
    database = await freshDatabase('postgres');
    // Started one after the other: the first one migrates, the others find it done.
    for (const role of ['api', 'api', 'worker'] as const) processes.push(await startServe(role, database.env));
    [apiA, apiB] = [processes[0].graphql!, processes[1].graphql!];
  });
  after(async () => {
    await Promise.all(processes.map((served) => served.stop()));
    await database?.drop();
  });

  test('a subscriber on API A receives every event of a run started on API B, in order', { timeout: 120_000 }, async () => {
    const [content, style] = [await createImage(apiB, 1), await createImage(apiB, 2)];
    const { startRun } = await graphql<{ startRun: { id: string } }>(apiB,
      'mutation($i: StartRunInput!) { startRun(input: $i) { id } }',
      { i: { contentImageId: content, styleImageIds: [style], maxDim: 32, epochs: 3, stepsPerEpoch: 2 } });

    const client = createClient({ url: apiA.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const received: { sequence: number; kind: string; status: string; epoch: number | null }[] = [];
    try {
      for await (const result of client.iterate<{ runEvents: { sequence: number; kind: string; status: string; epoch: { epoch: number } | null } }>({
        query: 'subscription($id: ID!) { runEvents(runId: $id) { sequence kind status epoch { epoch } } }',
        variables: { id: startRun.id },
      })) {
        const event = result.data!.runEvents;
        received.push({ sequence: event.sequence, kind: event.kind, status: event.status, epoch: event.epoch?.epoch ?? null });
      }
    } finally {
      await client.dispose();
    }
    // Whatever had happened before subscribing is replayed; the rest is live, with no gap and no repeat.
    const sequences = received.map((e) => e.sequence);
    assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b));
    assert.equal(new Set(sequences).size, sequences.length);
    assert.deepEqual(received.filter((e) => e.kind === 'EPOCH').map((e) => e.epoch), [1, 2, 3]);
    assert.deepEqual(received.at(-1), { sequence: sequences.at(-1), kind: 'STATUS', status: 'SUCCEEDED', epoch: null });
    const { run } = await graphql<{ run: { status: string; resultImage: { url: string } } }>(apiA,
      'query($id: ID!) { run(id: $id) { status resultImage { url } } }', { id: startRun.id });
    assert.equal(run.status, 'SUCCEEDED');
    assert.equal((await fetch(run.resultImage.url)).headers.get('content-type'), 'image/png');
    // An API node computes nothing: it reports the backend its runs were computed on.
    const { serviceInfo } = await graphql<{ serviceInfo: { backend: string } }>(apiA, '{ serviceInfo { backend } }');
    assert.equal(serviceInfo.backend, 'wasm');
  });

  test('a subscriber on API A receives the steps the worker process announces', { timeout: 120_000 }, async () => {
    const [content, style] = [await createImage(apiB, 3), await createImage(apiB, 4)];
    const { startRun } = await graphql<{ startRun: { id: string } }>(apiB,
      'mutation($i: StartRunInput!) { startRun(input: $i) { id } }',
      { i: { contentImageId: content, styleImageIds: [style], ...STEPPED_RUN } });

    const client = createClient({ url: apiA.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const received: SteppedEvent[] = [];
    try {
      for await (const result of client.iterate<{ runEvents: SteppedEvent }>({ query: STEP_EVENTS, variables: { runId: startRun.id, steps: true } })) {
        assert.equal(result.errors, undefined, JSON.stringify(result.errors));
        received.push(result.data!.runEvents);
      }
    } finally {
      await client.dispose();
    }
    assertStepStream(received);
  });
});
