/**
 * Animations over the limits, and GIFs written to hurt: refused with
 * BAD_USER_INPUT naming the image's field, quickly, before their pixels are
 * decoded, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { handMadeGif, makeAnimation } from '../helpers/images.js';
import { errorCodes, TestApi, uploadImage } from '../graphql/harness.js';

const CREATE = 'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id frames } }';

function upload(graphqlUrl: string, bytes: Buffer) {
  return uploadImage<{ id: string; frames: number }>(graphqlUrl, { bytes, type: 'image/gif', fileName: 'moving.gif' }, 'id frames');
}

const gifDataUrl = (bytes: Buffer) => `data:image/gif;base64,${bytes.toString('base64')}`;

/** Both ends refuse `bytes`, naming their field, with a message matching `message`; no image row is written. */
async function assertRefused(api: TestApi, bytes: Buffer, message: RegExp): Promise<void> {
  const images = await api.service.db.prisma.image.count();
  const created = await api.request(CREATE, { dataUrl: gifDataUrl(bytes) });
  assert.deepEqual(errorCodes(created.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }], JSON.stringify(created.errors));
  assert.match(created.errors![0].message, message);
  const uploaded = await upload(api.graphqlUrl, bytes);
  assert.deepEqual(errorCodes(uploaded.errors as never), [{ code: 'BAD_USER_INPUT', field: 'file' }], JSON.stringify(uploaded.errors));
  assert.match(uploaded.errors![0].message, message);
  assert.equal(await api.service.db.prisma.image.count(), images);
}

for (const kind of DATABASE_KINDS) {
  describe(`animation limits on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      // Frames of 32x32 at most, 4 of them, 3 in all at full size (3072 pixels), half a second.
      api = await TestApi.start(kind, { role: 'api', limits: { maxImagePixels: 32 * 32, maxFrames: 4, maxTotalPixels: 3 * 32 * 32, maxDurationMs: 500 } });
    });
    after(() => api?.close());

    test('at each limit an animation is accepted', async () => {
      const gif = await makeAnimation('gif', 32, 24, [100, 100, 100, 200]);
      assert.equal((await upload(api.graphqlUrl, gif)).data!.uploadImage.frames, 4);
      const webp = await makeAnimation('webp', 32, 32, [250, 150, 100]);
      assert.equal((await api.query(CREATE, { dataUrl: `data:image/webp;base64,${webp.toString('base64')}` })).createImage.frames, 3);
    });

    test('each limit refuses, naming the field and stating the limit, and stores nothing', async () => {
      await assertRefused(api, await makeAnimation('gif', 33, 32, [100, 100]), /^(dataUrl|file): each frame is 33x32 = 1056 pixels, more than the limit of 1024$/);
      await assertRefused(api, await makeAnimation('gif', 16, 16, [50, 50, 50, 50, 50]), /^(dataUrl|file): has more than 4 frames; this server accepts animations of at most 4 frames$/);
      await assertRefused(api, await makeAnimation('gif', 32, 32, [100, 100, 100, 100]), /^(dataUrl|file): has 4 frames of 32x32 = 4096 pixels in all; this server accepts animations of at most 3072 pixels in all$/);
      await assertRefused(api, await makeAnimation('gif', 16, 16, [300, 210]), /^(dataUrl|file): lasts 510 ms; this server accepts animations of at most 500 ms$/);
    });

    test('an animated WebP is held to the same limits', async () => {
      const webp = await makeAnimation('webp', 16, 16, [50, 50, 50, 50, 50]);
      const images = await api.service.db.prisma.image.count();
      const created = await api.request(CREATE, { dataUrl: `data:image/webp;base64,${webp.toString('base64')}` });
      assert.deepEqual(errorCodes(created.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
      assert.match(created.errors![0].message, /has more than 4 frames/);
      assert.equal(await api.service.db.prisma.image.count(), images);
    });
  });
}

describe('GIF bombs, at the default limits', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api' });
  });
  after(() => api?.close());

  test('a well-formed hand-made GIF is accepted (the bombs below differ only in what they declare)', async () => {
    assert.equal((await upload(api.graphqlUrl, handMadeGif(1, 1, 3))).data!.uploadImage.frames, 3);
  });

  test('a 65535x65535 logical screen or frame is refused from its header, in well under a second', async () => {
    for (const bomb of [handMadeGif(65535, 65535, 2), handMadeGif(1, 1, 1, 65535, 65535), handMadeGif(65535, 65535, 1, 65535, 65535)]) {
      const started = Date.now();
      await assertRefused(api, bomb, /each frame is 65535x65535 = 4294836225 pixels, more than the limit of 25000000$/);
      assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    }
  });

  test('seven hundred thousand one-pixel frames (16 MB) are refused after counting 301 of them, quickly', async () => {
    const bomb = handMadeGif(1, 1, 700_000);
    assert.ok(bomb.length < 16 * 1024 * 1024, `${bomb.length} bytes`);
    const images = await api.service.db.prisma.image.count();
    const started = Date.now();
    const uploaded = await upload(api.graphqlUrl, bomb);
    assert.deepEqual(errorCodes(uploaded.errors as never), [{ code: 'BAD_USER_INPUT', field: 'file' }]);
    assert.match(uploaded.errors![0].message, /^file: has more than 300 frames; this server accepts animations of at most 300 frames$/);
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    assert.equal(await api.service.db.prisma.image.count(), images);
    // The server still answers.
    assert.ok((await api.query('{ serviceInfo { version } }')).serviceInfo.version);
  });
});
