import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { IMAGE_FIELDS, TestApi } from './harness.js';

const RUN_FIELDS = `id status totalEpochs currentEpoch progress backend error
  contentImage { id } styleImages { id } resultImage { ${IMAGE_FIELDS} }`;
const EVENTS = `subscription($runId: ID!, $sinceEpoch: Int, $afterSequence: Int) {
  runEvents(runId: $runId, sinceEpoch: $sinceEpoch, afterSequence: $afterSequence) {
    sequence kind status
    run { id status currentEpoch resultImage { id } }
    epoch { epoch step totalLoss contentLoss styleLoss totalVariationLoss elapsedMs preview { ${IMAGE_FIELDS} } }
  }
}`;
const START = `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} queuePosition } }`;

interface EventData {
  sequence: number;
  kind: 'STATUS' | 'EPOCH';
  status: string;
  run: { id: string; status: string; currentEpoch: number; resultImage: { id: string } | null };
  epoch: { epoch: number; step: number; totalLoss: number; preview: { url: string; width: number; height: number; mimeType: string } } | null;
}

/** Tiny runs: 32 px images at maxDim 32, 3 epochs of 2 steps. */
const TINY = { maxDim: 32, epochs: 3, stepsPerEpoch: 2 };

async function eventsOf(api: TestApi, runId: string, sinceEpoch?: number, afterSequence?: number): Promise<EventData[]> {
  const results = await api.subscribe<{ runEvents: EventData }>(EVENTS, { runId, sinceEpoch, afterSequence });
  for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return results.map((result) => result.data!.runEvents);
}

/** The checks every complete stream of a successful tiny run passes. */
function assertSucceededStream(events: EventData[], runId: string, firstEpoch = 1): void {
  const sequences = events.map((e) => e.sequence);
  assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b), 'in order');
  assert.equal(new Set(sequences).size, sequences.length, 'no duplicates');
  for (const event of events) assert.equal(event.run.id, runId, 'events of this run only');
  const epochs = events.filter((e) => e.kind === 'EPOCH');
  assert.deepEqual(epochs.map((e) => e.epoch!.epoch), [1, 2, 3].filter((n) => n >= firstEpoch));
  for (const e of epochs) assert.equal(e.status, 'RUNNING');
  // The run as it is now: never behind the event, and never back from a later one.
  for (const e of epochs) assert.ok(e.run.currentEpoch >= e.epoch!.epoch);
  assert.deepEqual(events.map((e) => e.run.currentEpoch), [...events.map((e) => e.run.currentEpoch)].sort((a, b) => a - b));
  const last = events.at(-1)!;
  assert.equal(last.kind, 'STATUS');
  assert.deepEqual([last.status, last.run.status], ['SUCCEEDED', 'SUCCEEDED']);
  assert.ok(last.run.resultImage);
}

for (const kind of DATABASE_KINDS) {
  describe(`GraphQL run flow on ${kind}`, () => {
    let api: TestApi;
    let content: string;
    let style: string;
    before(async () => {
      api = await TestApi.start(kind, { concurrency: 2 });
      content = await api.createImage(1);
      style = await api.createImage(2);
    });
    after(() => api?.close());

    test('a run\'s events arrive in order with previews that download as PNGs; history and a late subscriber see it all', async () => {
      const { startRun } = await api.query(START, { input: { contentImageId: content, styleImageIds: [style], ...TINY } });
      assert.equal(startRun.status, 'QUEUED');
      assert.equal(startRun.totalEpochs, 3);
      assert.equal(startRun.contentImage.id, content);
      assert.deepEqual(startRun.styleImages, [{ id: style }]);

      const events = await eventsOf(api, startRun.id);
      assertSucceededStream(events, startRun.id);
      // Every event, from the run's creation on, numbered without a gap: a missing number would be a lost event.
      assert.deepEqual(events.map((e) => e.sequence), events.map((_, i) => i + 1));
      assert.deepEqual(events.filter((e) => e.kind === 'STATUS').map((e) => e.status), ['QUEUED', 'RUNNING', 'SUCCEEDED']);
      for (const { epoch } of events.filter((e) => e.kind === 'EPOCH')) {
        assert.equal(epoch!.step, epoch!.epoch * 2);
        assert.ok(Number.isFinite(epoch!.totalLoss) && epoch!.totalLoss > 0);
        const response = await fetch(epoch!.preview.url);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/png');
        const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], ['png', 32, 32]);
        assert.deepEqual([epoch!.preview.width, epoch!.preview.height, epoch!.preview.mimeType], [32, 32, 'image/png']);
      }

      const { run } = await api.query(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} epochs { epoch preview { id } } latestEpoch { epoch preview { id } } } }`, { id: startRun.id });
      assert.equal(run.status, 'SUCCEEDED', run.error);
      assert.deepEqual(run.latestEpoch, run.epochs.at(-1), 'latestEpoch is the last of the epochs');
      assert.equal(run.progress, 1);
      assert.ok(run.backend);
      assert.deepEqual(run.epochs.map((e: { epoch: number }) => e.epoch), [1, 2, 3]);
      assert.equal(run.resultImage.id, run.epochs[2].preview.id);
      assert.equal(run.resultImage.id, events.at(-1)!.run.resultImage!.id);

      const { runs } = await api.query('{ runs(first: 5) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }');
      assert.deepEqual(runs.edges[0].node, { id: startRun.id, status: 'SUCCEEDED' }, 'newest first');

      // A late subscriber: the replay is the same events under the same numbers, then the end.
      const replayed = await eventsOf(api, startRun.id, 0);
      assert.deepEqual(replayed.map((e) => [e.kind, e.sequence]), events.map((e) => [e.kind, e.sequence]));
      assertSucceededStream(replayed, startRun.id);
      assertSucceededStream(await eventsOf(api, startRun.id, 2), startRun.id, 3);
      // A client reconnecting after the event it saw last gets each later one once.
      const resumed = await eventsOf(api, startRun.id, undefined, 4);
      assert.deepEqual(resumed.map((e) => e.sequence), events.filter((e) => e.sequence > 4).map((e) => e.sequence));
    });

    test('two concurrent runs\' events never cross', async () => {
      const starts = await Promise.all([1, 2].map((n) => api.query(START, {
        input: { contentImageId: content, styleImageIds: [style], ...TINY, styleWeight: n },
      })));
      const ids = starts.map((s) => s.startRun.id as string);
      const streams = await Promise.all(ids.map((id) => eventsOf(api, id)));
      streams.forEach((events, i) => assertSucceededStream(events, ids[i]));
    });
  });
}
