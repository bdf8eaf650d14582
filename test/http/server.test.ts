import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { makePng } from '../helpers/images.js';
import { errorCodes, IMAGE_FIELDS, TestApi } from '../graphql/harness.js';

const UPLOAD = `mutation($file: Upload!) { uploadImage(file: $file) { ${IMAGE_FIELDS} } }`;

function multipart(operations: unknown, map: unknown, files: Record<string, Blob>): FormData {
  const form = new FormData();
  form.append('operations', JSON.stringify(operations));
  form.append('map', JSON.stringify(map));
  for (const [name, blob] of Object.entries(files)) form.append(name, blob, `${name}.png`);
  return form;
}

// The API role: nothing here needs a worker.
describe('HTTP server', () => {
  let api: TestApi;
  let png: Buffer;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api', limits: { maxImageBytes: 64 * 1024 } });
    png = await makePng(40, 30, 9);
  });
  after(() => api?.close());

  const upload = (form: FormData, headers: Record<string, string> = { 'apollo-require-preflight': 'true' }) =>
    fetch(api.graphqlUrl, { method: 'POST', headers, body: form });

  test('uploadImage takes a GraphQL multipart request; /images/<id> serves it with its type, ETag and cache headers', async () => {
    const response = await upload(multipart({ query: UPLOAD, variables: { file: null } }, { 0: ['variables.file'] }, { 0: new Blob([png]) }));
    const { data, errors } = await response.json() as { data: { uploadImage: Record<string, unknown> }; errors?: unknown };
    assert.equal(errors, undefined, JSON.stringify(errors));
    const image = data.uploadImage;
    assert.deepEqual([image.width, image.height, image.mimeType], [40, 30, 'image/png']);
    assert.equal(image.id, image.sha256);
    assert.equal(image.url, `${api.server.url}/images/${image.id}`);

    const got = await fetch(image.url as string);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), png);
    assert.equal(got.headers.get('content-type'), 'image/png');
    assert.equal(got.headers.get('etag'), `"${image.sha256}"`);
    assert.match(got.headers.get('cache-control')!, /immutable/);

    const revalidated = await fetch(image.url as string, { headers: { 'if-none-match': `"${image.sha256}"` } });
    assert.equal(revalidated.status, 304);
    const head = await fetch(image.url as string, { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers.get('content-length')], [200, String(png.length)]);
    for (const id of ['0'.repeat(64), 'nope', 'A'.repeat(64)]) assert.equal((await fetch(`${api.server.url}/images/${id}`)).status, 404, id);
  });

  test('refused uploads: no CSRF preflight header (400), a malformed map (400), not an image (BAD_USER_INPUT, field file)', async () => {
    const before = await api.service.db.prisma.image.count();
    const good = () => multipart({ query: UPLOAD, variables: { file: null } }, { 0: ['variables.file'] }, { 0: new Blob([png]) });
    assert.equal((await upload(good(), {})).status, 400);
    for (const map of [{ 0: ['variables.other'] }, { 0: ['__proto__.x'] }, { 1: ['variables.file'] }, []]) {
      const response = await upload(multipart({ query: UPLOAD, variables: { file: null } }, map, { 0: new Blob([png]) }));
      assert.equal(response.status, 400, JSON.stringify(map));
    }
    const notImage = await upload(multipart({ query: UPLOAD, variables: { file: null } }, { 0: ['variables.file'] }, { 0: new Blob(['text']) }));
    assert.deepEqual(errorCodes((await notImage.json() as { errors: never }).errors), [{ code: 'BAD_USER_INPUT', field: 'file' }]);
    const tooBig = await upload(multipart({ query: UPLOAD, variables: { file: null } }, { 0: ['variables.file'] }, { 0: new Blob([Buffer.alloc(64 * 1024 + 1)]) }));
    assert.deepEqual(errorCodes((await tooBig.json() as { errors: never }).errors), [{ code: 'BAD_USER_INPUT', field: 'file' }]);
    assert.equal(await api.service.db.prisma.image.count(), before);
  });

  test('a body far over the limit is refused with 413; other paths are 404; bad JSON is 400', async () => {
    const huge = await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    assert.equal((await fetch(`${api.server.url}/elsewhere`)).status, 404);
    const bad = await fetch(api.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(bad.status, 400);
  });
});

describe('HTTP server shutdown', () => {
  test('close() ends open WebSockets with 1001 and stops listening', async () => {
    const api = await TestApi.start('pglite', { role: 'api' });
    try {
      const socket = new WebSocket(`${api.server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => socket.once('close', resolve));
      await api.server.close();
      assert.equal(await closed, 1001);
      await assert.rejects(fetch(api.graphqlUrl));
    } finally {
      await api.ws.dispose();
      await api.service.close();
    }
  });
});
