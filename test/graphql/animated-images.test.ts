import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { makeAnimation, makePng } from '../helpers/images.js';
import { errorCodes, TestApi, uploadImage } from './harness.js';

const FIELDS = 'id mimeType width height frames durationMs fps';
const CREATE = `mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { ${FIELDS} } }`;
const START = 'mutation($input: StartRunInput!) { startRun(input: $input) { id } }';
const TINY = { maxDim: 24, epochs: 1, stepsPerEpoch: 1 };

const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

for (const kind of DATABASE_KINDS) {
  describe(`animated images on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind, { role: 'api' });
    });
    after(() => api?.close());

    test('an animated GIF uploads with its frames, duration and rate; width and height are one frame\'s; GET serves the same bytes', async () => {
      const gif = await makeAnimation('gif', 32, 32, [100, 100, 100, 100], 1);
      const { id, ...image } = (await uploadImage(api.graphqlUrl, { bytes: gif, type: 'image/gif', fileName: 'square.gif' }, FIELDS)).data!.uploadImage;
      assert.deepEqual(image, { mimeType: 'image/gif', width: 32, height: 32, frames: 4, durationMs: 400, fps: 10 });
      const served = await fetch(`${api.server.url}/images/${id}`);
      assert.equal(served.headers.get('content-type'), 'image/gif');
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), gif);
    });

    test('an animated WebP (data URL) and a GIF of 30 ms frames: fps is frames x 1000 / durationMs, to two decimals', async () => {
      const webp = await makeAnimation('webp', 40, 24, [40, 40, 40, 40, 40], 2);
      const created = (await api.query(CREATE, { dataUrl: dataUrl('image/webp', webp) })).createImage;
      const { id, ...info } = created;
      assert.deepEqual(info, { mimeType: 'image/webp', width: 40, height: 24, frames: 5, durationMs: 200, fps: 25 });
      const gif = await makeAnimation('gif', 32, 32, [30, 30, 30], 3);
      const uploaded = (await uploadImage(api.graphqlUrl, { bytes: gif, type: '', fileName: 'fast.gif' }, FIELDS)).data!.uploadImage;
      assert.deepEqual([uploaded.frames, uploaded.durationMs, uploaded.fps], [3, 90, 33.33]);
      // Read back from the stored row.
      assert.deepEqual((await api.query(`query($id: ID!) { image(id: $id) { ${FIELDS} } }`, { id })).image, created);
    });

    test('still images are one frame with no duration or rate: PNG, a still WebP and a still GIF', async () => {
      const png = await makePng(24, 24, 7);
      const still = [
        { type: 'image/png', bytes: png },
        { type: 'image/webp', bytes: await makeAnimation('webp', 24, 24, [100], 4) },
        { type: 'image/gif', bytes: await makeAnimation('gif', 24, 24, [100], 5) },
      ];
      for (const { type, bytes } of still) {
        const image = (await api.query(CREATE, { dataUrl: dataUrl(type, bytes) })).createImage;
        assert.deepEqual([image.mimeType, image.width, image.height, image.frames, image.durationMs, image.fps], [type, 24, 24, 1, null, null], type);
      }
    });

    test('serviceInfo.limits says the animation limits', async () => {
      const { serviceInfo } = await api.query('{ serviceInfo { limits { maxImagePixels maxFrames maxTotalPixels maxDurationMs } } }');
      assert.deepEqual(serviceInfo.limits, { maxImagePixels: 25_000_000, maxFrames: 300, maxTotalPixels: 100_000_000, maxDurationMs: 60_000 });
    });

    test('startRun refuses a still GIF, and an animation as a style image, naming it, and stores no run', async () => {
      const animated = (await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 32, 32, [100, 100], 6)) })).createImage.id;
      const stillGif = (await api.query(CREATE, { dataUrl: dataUrl('image/gif', await makeAnimation('gif', 32, 32, [100], 7)) })).createImage.id;
      const animatedWebp = (await api.query(CREATE, { dataUrl: dataUrl('image/webp', await makeAnimation('webp', 32, 32, [100, 100], 8)) })).createImage.id;
      const png = await api.createImage(9, 32);
      const runs = await api.service.db.prisma.run.count();
      const cases = [
        { input: { contentImageId: stillGif, styleImageIds: [png] }, field: 'contentImageId', message: /^contentImageId: is a GIF image; runs paint still PNG, JPEG or WebP images, and animations \(GIF, animated WebP\) and videos \(MP4, WebM\) as the content$/ },
        { input: { contentImageId: png, styleImageIds: [png, animated] }, field: 'styleImageIds[1]', message: /^styleImageIds\[1\]: is an animated image \(2 frames\); runs paint still PNG, JPEG or WebP images$/ },
        { input: { contentImageId: png, styleImageIds: [animatedWebp] }, field: 'styleImageIds[0]', message: /animated image \(2 frames\)/ },
      ];
      for (const { input, field, message } of cases) {
        const response = await api.request(START, { input: { ...input, ...TINY } });
        assert.deepEqual(errorCodes(response.errors), [{ code: 'BAD_USER_INPUT', field }], JSON.stringify(input));
        assert.match(response.errors![0].message, message);
      }
      assert.equal(await api.service.db.prisma.run.count(), runs);
      // Still PNGs start as before.
      assert.ok((await api.query(START, { input: { contentImageId: png, styleImageIds: [png], ...TINY } })).startRun.id);
    });
  });
}
