import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { errorCodes, IMAGE_FIELDS, pngDataUrl, TestApi } from './harness.js';

const PRESETS = `{ presets { name title artist painting { ${IMAGE_FIELDS} } } }`;
const START = `mutation($input: StartRunInput!) {
  startRun(input: $input) { id status totalEpochs params { mode preset epochs stepsPerEpoch } styleImages { id } }
}`;
const EVENTS = `subscription($runId: ID!) {
  runEvents(runId: $runId) {
    kind
    run { status resultImage { id } }
    epoch { epoch step totalLoss contentLoss styleLoss preview { ${IMAGE_FIELDS} } }
  }
}`;

interface EventData {
  kind: 'STATUS' | 'EPOCH';
  run: { status: string; resultImage: { id: string } | null };
  epoch: { epoch: number; step: number; totalLoss: number; contentLoss: number; styleLoss: number; preview: { id: string; url: string; width: number; height: number } } | null;
}

const NAMES = ['la_muse', 'rain_princess', 'scream', 'udnie', 'wave', 'wreck'];

async function download(url: string): Promise<{ type: string | null; bytes: Buffer }> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return { type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

for (const kind of DATABASE_KINDS) {
  describe(`fast-style runs through GraphQL on ${kind}`, () => {
    let api: TestApi;
    let photo: string;
    before(async () => {
      api = await TestApi.start(kind);
      // 40x24: at maxDim 32 the result is 32x19, as the optimisation fits it.
      const { createImage } = await api.query('mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }', { dataUrl: await pngDataUrl(40, 24, 3) });
      photo = createImage.id;
    });
    after(() => api?.close());

    async function eventsOf(runId: string): Promise<EventData[]> {
      const results = await api.subscribe<{ runEvents: EventData }>(EVENTS, { runId });
      for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return results.map((result) => result.data!.runEvents);
    }

    test('presets lists the six networks, each with its painting, which downloads', async () => {
      const { presets } = await api.query(PRESETS);
      assert.deepEqual(presets.map((p: { name: string }) => p.name), NAMES);
      const wave = presets.find((p: { name: string }) => p.name === 'wave');
      assert.deepEqual([wave.title, wave.artist], ['The Great Wave off Kanagawa', 'Katsushika Hokusai']);
      for (const { painting } of presets) {
        const { type, bytes } = await download(painting.url);
        assert.equal(type, 'image/jpeg');
        const meta = await sharp(bytes).metadata();
        assert.deepEqual([meta.width, meta.height], [painting.width, painting.height]);
      }
      // Stored once: asking again gives the same images.
      assert.deepEqual((await api.query(PRESETS)).presets, presets);
    });

    test('a FAST run: one epoch with the network\'s image at maxDim, then SUCCEEDED, its painting as the style', async () => {
      const { startRun } = await api.query(START, { input: { contentImageId: photo, mode: 'FAST', preset: 'wave', maxDim: 32, epochs: 5 } });
      assert.equal(startRun.totalEpochs, 1);
      assert.deepEqual(startRun.params, { mode: 'FAST', preset: 'wave', epochs: 1, stepsPerEpoch: 100 });
      const { presets } = await api.query(PRESETS);
      assert.deepEqual(startRun.styleImages, [{ id: presets.find((p: { name: string }) => p.name === 'wave').painting.id }]);

      const events = await eventsOf(startRun.id);
      const epochs = events.filter((e) => e.kind === 'EPOCH').map((e) => e.epoch!);
      assert.equal(epochs.length, 1);
      const [epoch] = epochs;
      assert.deepEqual([epoch.epoch, epoch.step], [1, 0]);
      assert.ok(epoch.totalLoss > 0 && epoch.styleLoss > 0 && epoch.contentLoss > 0, JSON.stringify(epoch));
      assert.deepEqual([epoch.preview.width, epoch.preview.height], [32, 19]);
      const { type, bytes } = await download(epoch.preview.url);
      assert.equal(type, 'image/png');
      const meta = await sharp(bytes).metadata();
      assert.deepEqual([meta.width, meta.height], [32, 19]);
      const last = events.at(-1)!;
      assert.deepEqual([last.kind, last.run.status, last.run.resultImage?.id], ['STATUS', 'SUCCEEDED', epoch.preview.id]);
    });

    test('a FAST_THEN_OPTIMIZE run optimises its epochs from the network\'s result', async () => {
      const { startRun } = await api.query(START, {
        input: { contentImageId: photo, mode: 'FAST_THEN_OPTIMIZE', preset: 'udnie', maxDim: 32, epochs: 2, stepsPerEpoch: 2 },
      });
      assert.equal(startRun.totalEpochs, 2);
      const events = await eventsOf(startRun.id);
      const epochs = events.filter((e) => e.kind === 'EPOCH').map((e) => e.epoch!);
      assert.deepEqual(epochs.map((e) => [e.epoch, e.step]), [[1, 2], [2, 4]]);
      assert.deepEqual([epochs[1].preview.width, epochs[1].preview.height], [32, 19]);
      assert.equal(events.at(-1)!.run.status, 'SUCCEEDED');

      // Cloned as an optimisation it keeps the painting as its style and leaves the network behind.
      const { startRun: clone } = await api.query(START, { input: { cloneOf: startRun.id, mode: 'OPTIMIZE', epochs: 1, stepsPerEpoch: 1 } });
      assert.deepEqual([clone.params.mode, clone.params.preset], ['OPTIMIZE', null]);
      assert.deepEqual(clone.styleImages, startRun.styleImages);
      assert.equal((await eventsOf(clone.id)).at(-1)!.run.status, 'SUCCEEDED');
    });

    test('refused: an unknown or missing preset, a preset without a fast mode, style images in a fast mode; nothing is written', async () => {
      const { runs: before } = await api.query('{ runs(first: 100) { edges { node { id } } } }');
      const style = await api.createImage(9);
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ mode: 'FAST', preset: 'starry_night' }, 'preset', /no fast-style network is named "starry_night" \(this server has: la_muse, /],
        [{ mode: 'FAST' }, 'preset', /required/],
        [{ mode: 'FAST_THEN_OPTIMIZE', preset: '../wave' }, 'preset', /name of a fast-style network/],
        [{ preset: 'wave', styleImageIds: [style] }, 'preset', /only in the fast modes/],
        [{ mode: 'FAST', preset: 'wave', styleImageIds: [style] }, 'styleImageIds', /left out/],
      ];
      for (const [input, field, message] of cases) {
        const { errors } = await api.request(START, { input: { contentImageId: photo, ...input } });
        assert.deepEqual(errorCodes(errors), [{ code: 'BAD_USER_INPUT', field }], JSON.stringify(input));
        assert.match(errors![0].message, message);
      }
      const { runs: after } = await api.query('{ runs(first: 100) { edges { node { id } } } }');
      assert.deepEqual(after, before);
    });
  });
}
