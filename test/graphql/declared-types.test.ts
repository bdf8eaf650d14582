import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { makePng } from '../helpers/images.js';
import { errorCodes, TestApi, uploadImage } from './harness.js';

const CREATE = 'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id mimeType } }';

// What a client declares a file to be (a data URL's type, an upload's Content-Type), against what it holds.
describe('declared types', () => {
  let api: TestApi;
  let jpeg: Buffer;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api' });
    jpeg = await sharp(await makePng(24, 24, 300)).jpeg().toBuffer();
  });
  after(() => api?.close());

  const create = (type: string, bytes: Buffer) => api.request(CREATE, { dataUrl: `data:${type};base64,${bytes.toString('base64')}` });

  test('the names clients give JPEG (image/jpg, image/pjpeg, any case) and "nothing declared" are taken', async () => {
    for (const type of ['image/jpeg', 'image/jpg', 'IMAGE/PJPEG', 'application/octet-stream', '']) {
      const { data, errors } = await create(type, jpeg);
      assert.equal(errors, undefined, type);
      assert.equal(data.createImage.mimeType, 'image/jpeg', type);
    }
    const uploaded = await uploadImage(api.graphqlUrl, { bytes: jpeg, type: 'image/jpg', fileName: 'photo.jpg' }, 'mimeType');
    assert.equal(uploaded.data?.uploadImage.mimeType, 'image/jpeg');
  });

  test('a type that is none the server takes is refused naming the field and listing what it takes; a known one that is not what the file holds, saying what it holds', async () => {
    const unknown = await create('text/html', jpeg);
    assert.deepEqual(errorCodes(unknown.errors), [{ code: 'BAD_USER_INPUT', field: 'dataUrl' }]);
    assert.match(unknown.errors![0].message, /^dataUrl: is declared as "text\/html"; this server accepts PNG, JPEG, WebP or GIF images and MP4 or WebM videos only$/);
    const alias = await create('image/jpg', await makePng(24, 24, 301));
    assert.match(alias.errors![0].message, /^dataUrl: is declared as image\/jpeg but holds image\/png$/);
    const upload = await uploadImage(api.graphqlUrl, { bytes: jpeg, type: 'image/svg+xml', fileName: 'photo.svg' }, 'id');
    assert.deepEqual(errorCodes(upload.errors), [{ code: 'BAD_USER_INPUT', field: 'file' }]);
  });
});
