import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { makeAnimation, makePng } from '../helpers/images.js';
import { errorCodes, TestApi } from './harness.js';

const CREATE = 'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }';
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id totalFrames currentFrame progress } }';
const FRAME_FIELDS = 'frame totalLoss contentLoss styleLoss totalVariationLoss temporalLoss elapsedMs delayMs image { id url mimeType width height }';
const EVENTS = `subscription($runId: ID!) {
  runEvents(runId: $runId) { sequence kind status epoch { epoch } frame { ${FRAME_FIELDS} } run { currentFrame progress } }
}`;
const RUN = `query($id: ID!) {
  run(id: $id) {
    status totalFrames currentFrame totalEpochs currentEpoch progress flicker
    epochs { epoch step }
    frames { ${FRAME_FIELDS} }
    resultImage { id url mimeType width height frames durationMs fps }
  }
}`;
/** Four frames of a square moving over a still white background, shown for different times. */
const DELAYS = [100, 200, 100, 150];
const FAST = { mode: 'FAST', preset: 'wave', maxDim: 32 };

interface FrameData {
  frame: number; totalLoss: number; contentLoss: number; styleLoss: number; totalVariationLoss: number; temporalLoss: number; elapsedMs: number; delayMs: number;
  image: { id: string; url: string; mimeType: string; width: number; height: number };
}
interface EventData {
  sequence: number; kind: string; status: string; epoch: { epoch: number } | null; frame: FrameData | null;
  run: { currentFrame: number; progress: number };
}

const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return Buffer.from(await response.arrayBuffer());
}

/** The RGB pixels of each page of an animation. */
async function pages(bytes: Buffer): Promise<Buffer[]> {
  const { data, info } = await sharp(bytes, { animated: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const pageHeight = info.pageHeight ?? info.height;
  const size = info.width * pageHeight * 3;
  return Array.from({ length: info.height / pageHeight }, (_, page) => data.subarray(page * size, (page + 1) * size));
}

for (const kind of DATABASE_KINDS) {
  describe(`runs over animations on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind);
    });
    after(() => api?.close());

    async function paint(format: 'gif' | 'webp', seed = 1) {
      const type = `image/${format}`;
      const content = (await api.query(CREATE, { dataUrl: dataUrl(type, await makeAnimation(format, 40, 32, DELAYS, seed)) })).createImage.id;
      const painted = await paintContent(type, content, FAST);
      assert.equal(painted.run.totalFrames, 4);
      return painted;
    }

    async function paintContent(type: string, content: string, input: object) {
      const { startRun } = await api.query(START, { input: { contentImageId: content, ...input } });
      assert.deepEqual([startRun.currentFrame, startRun.progress], [0, 0]);
      const results = await api.subscribe<{ runEvents: EventData }>(EVENTS, { runId: startRun.id });
      for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const events = results.map((result) => result.data!.runEvents);
      const { run } = await api.query(RUN, { id: startRun.id });
      return { type, content, events, run, id: startRun.id };
    }

    for (const format of ['gif', 'webp'] as const) {
      test(`a ${format.toUpperCase()} in: a FRAME event per frame, in order, then a ${format.toUpperCase()} out with the frames and their timing`, async () => {
        const { type, events, run } = await paint(format);
        // A FAST frame is one pass: one epoch, then the frame made of it.
        assert.deepEqual(events.map((e) => e.kind), ['STATUS', 'STATUS', ...DELAYS.flatMap(() => ['EPOCH', 'FRAME']), 'STATUS']);
        assert.deepEqual(events.map((e) => e.sequence), Array.from({ length: 11 }, (_, i) => i + 1));
        assert.deepEqual(events.flatMap((e) => e.epoch ? [e.epoch.epoch] : []), [1, 2, 3, 4]);
        assert.equal(events.at(-1)!.status, 'SUCCEEDED');
        const frames = events.flatMap((e) => e.frame ? [e.frame] : []);
        assert.deepEqual(frames.map((f) => [f.frame, f.delayMs]), DELAYS.map((delay, i) => [i + 1, delay]));
        assert.deepEqual(events.filter((e) => e.kind === 'FRAME').map((e) => e.run.progress), [0.25, 0.5, 0.75, 1]);
        for (const frame of frames) {
          assert.ok(frame.totalLoss > 0 && frame.styleLoss > 0 && frame.contentLoss > 0, JSON.stringify(frame));
          assert.equal(frame.temporalLoss, 0, 'a fast-style network has no temporal term');
          // 40x32 fitted to maxDim 32, as a still image is.
          assert.deepEqual([frame.image.mimeType, frame.image.width, frame.image.height], ['image/png', 32, 25]);
        }
        const elapsed = frames.map((f) => f.elapsedMs);
        assert.deepEqual([...elapsed].sort((a, b) => a - b), elapsed, 'elapsed time adds up frame by frame');
        // What the run says afterwards is what the events said.
        assert.deepEqual(run.frames, frames);
        assert.deepEqual([run.status, run.totalFrames, run.currentFrame, run.totalEpochs, run.currentEpoch, run.progress], ['SUCCEEDED', 4, 4, 4, 4, 1]);
        assert.ok(run.flicker >= 0 && run.flicker < 255, `flicker ${run.flicker}`);

        const result = run.resultImage;
        assert.deepEqual([result.mimeType, result.width, result.height, result.frames, result.durationMs, result.fps], [type, 32, 25, 4, 550, 7.27]);
        const bytes = await download(result.url);
        const meta = await sharp(bytes, { animated: true }).metadata();
        assert.deepEqual([meta.format, meta.pages, meta.delay, meta.loop], [format, 4, DELAYS, 0]);
        // The result's pages are the painted frames (within the palette or lossy coding of the format).
        const painted = await Promise.all(frames.map(async (f) => (await sharp(await download(f.image.url)).removeAlpha().raw().toBuffer())));
        const out = await pages(bytes);
        painted.forEach((frame, i) => {
          let difference = 0;
          for (let p = 0; p < frame.length; p++) difference += Math.abs(frame[p] - out[i][p]);
          assert.ok(difference / frame.length < 12, `page ${i + 1} differs from its frame by ${difference / frame.length} on average`);
        });
        // The square moves, so the frames differ; each is painted, not the content frame copied.
        assert.notDeepEqual(painted[0], painted[1]);
        assert.ok(new Set(frames.map((f) => f.image.id)).size === 4);
      });
    }

    test('OPTIMIZE over a GIF: epochs within each frame, numbered over the run; coherence (the default) flickers less than frames painted alone', async () => {
      const content = (await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 32, 32, [100, 100, 100], 2)) })).createImage.id;
      const style = (await api.query(CREATE, { dataUrl: dataUrl('image/png', await makePng(32, 32, 3)) })).createImage.id;
      // 24 steps a frame: in fewer, Adam's first steps (each about its learning rate) move what is held as much as what is free.
      const OPTIMIZE = { styleImageIds: [style], mode: 'OPTIMIZE', maxDim: 32, epochs: 2, stepsPerEpoch: 12 };
      const coherent = await paintContent('image/gif', content, OPTIMIZE);
      assert.deepEqual(coherent.events.map((e) => e.kind), ['STATUS', 'STATUS', ...[1, 2, 3].flatMap(() => ['EPOCH', 'EPOCH', 'FRAME']), 'STATUS']);
      assert.deepEqual(coherent.events.filter((e) => e.kind === 'FRAME').map((e) => e.run.progress), [2 / 6, 4 / 6, 1]);
      const { run } = coherent;
      assert.deepEqual(run.epochs, [1, 2, 3, 4, 5, 6].map((epoch) => ({ epoch, step: epoch * 12 })));
      assert.deepEqual([run.status, run.totalEpochs, run.currentEpoch, run.currentFrame], ['SUCCEEDED', 6, 6, 3]);
      assert.deepEqual([run.resultImage.mimeType, run.resultImage.frames, run.resultImage.durationMs], ['image/gif', 3, 300]);
      const alone = await paintContent('image/gif', content, { ...OPTIMIZE, temporalWeight: 0 });
      assert.equal(alone.run.status, 'SUCCEEDED');
      assert.ok(run.flicker < alone.run.flicker, `flicker ${run.flicker} with coherence, ${alone.run.flicker} without`);
      // The temporal term is reported apart, and counted in the total, in each frame after the first, and only with coherence.
      const held = (frames: FrameData[]) => frames.map((f) => f.temporalLoss > 0);
      assert.deepEqual([held(run.frames), held(alone.run.frames)], [[false, true, true], [false, false, false]]);
      for (const f of [...run.frames, ...alone.run.frames] as FrameData[]) {
        const sum = f.contentLoss + f.styleLoss + f.totalVariationLoss + f.temporalLoss;
        assert.ok(Math.abs(sum - f.totalLoss) <= 1e-5 * f.totalLoss, `frame ${f.frame}: ${JSON.stringify(f)}`);
      }
    });

    test('the steps limit counts every frame of an animation, and none in FAST', async () => {
      const content = (await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 32, 32, [100, 100, 100], 6)) })).createImage.id;
      const style = (await api.query(CREATE, { dataUrl: dataUrl('image/png', await makePng(32, 32, 3)) })).createImage.id;
      const runs = await api.service.db.prisma.run.count();
      // 3 frames x 4000 steps: over the 10,000 a run may take here, though one frame's are not.
      const response = await api.request(START, { input: { contentImageId: content, styleImageIds: [style], maxDim: 24, epochs: 40 } });
      assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field: 'epochs' }]);
      assert.match(response.errors![0].message, /epochs x stepsPerEpoch x 3 frames is 12000; this server allows at most 10000 steps per run/);
      assert.equal(await api.service.db.prisma.run.count(), runs);
      const estimate = 'query($input: StartRunInput!) { estimateRun(input: $input) { steps } }';
      const steps = async (input: object) => (await api.query(estimate, { input: { contentImageId: content, ...input } })).estimateRun.steps;
      assert.deepEqual([await steps({ styleImageIds: [style], maxDim: 24, epochs: 2 }), await steps(FAST)], [600, 0]);
    });

    test('estimateRun of an animation is its frames times the estimate of one frame', async () => {
      const estimate = 'query($input: StartRunInput!) { estimateRun(input: $input) { seconds steps } }';
      const animation = (await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 40, 32, DELAYS, 4)) })).createImage.id;
      const still = (await api.query(CREATE, { dataUrl: dataUrl('image/png', await makePng(40, 32, 4)) })).createImage.id;
      const [of, one] = await Promise.all([animation, still].map(async (id) => (await api.query(estimate, { input: { contentImageId: id, ...FAST } })).estimateRun));
      // The runs above measured this server's engine.
      assert.ok(one.seconds > 0, JSON.stringify(one));
      assert.ok(Math.abs(of.seconds - 4 * one.seconds) < 1e-9 * of.seconds + 1e-9, `${of.seconds} vs 4 x ${one.seconds}`);
      assert.deepEqual([of.steps, one.steps], [0, 0]);
    });

    test('deleteRun deletes the painted frames with the run', async () => {
      // Content of its own: the same frames painted by an earlier run would be the same images, still that run's.
      const { id, run } = await paint('gif', 5);
      const urls = run.frames.map((f: FrameData) => f.image.url);
      assert.equal(await api.query('mutation($id: ID!) { deleteRun(id: $id) }', { id }).then((d) => d.deleteRun), true);
      for (const url of [...urls, run.resultImage.url]) assert.equal((await fetch(url)).status, 404, url);
      assert.equal(await api.service.db.prisma.runFrame.count({ where: { runId: id } }), 0);
    });
  });
}
