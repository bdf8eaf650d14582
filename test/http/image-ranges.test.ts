import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { requestedRange } from '../../src/http/images-route.js';
import { storeImage } from '../../src/storage/images.js';
import { TestApi } from '../graphql/harness.js';

describe('a byte range of an image (how video elements seek)', () => {
  let api: TestApi;
  /** 2.5 MiB: three stored chunks of 1 MiB, so ranges cross their edges. */
  const bytes = randomBytes(2.5 * 1024 * 1024);
  let url: string;
  let etag: string;
  before(async () => {
    api = await TestApi.start('pglite', { role: 'api' });
    const image = await storeImage(api.service.db.prisma, bytes, { mimeType: 'video/mp4', width: 2, height: 2, frames: 2, durationMs: 80 });
    url = `${api.server.url}/images/${image.sha256}`;
    etag = `"${image.sha256}"`;
  });
  after(() => api?.close());

  const get = (headers: Record<string, string>, method = 'GET') => fetch(url, { method, headers });

  test('one range, across a chunk edge, from an offset to the end, and the last n bytes: 206 with its Content-Range', async () => {
    for (const [range, first, last] of [
      ['bytes=1048000-1049999', 1048000, 1049999],
      ['bytes=2000000-', 2000000, bytes.length - 1],
      ['bytes=-100', bytes.length - 100, bytes.length - 1],
      ['bytes=0-99999999', 0, bytes.length - 1],
    ] as const) {
      const response = await get({ range });
      assert.equal(response.status, 206, range);
      assert.equal(response.headers.get('content-range'), `bytes ${first}-${last}/${bytes.length}`, range);
      assert.equal(response.headers.get('content-type'), 'video/mp4');
      assert.equal(Number(response.headers.get('content-length')), last - first + 1);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(first, last + 1)), range);
    }
  });

  test('the whole image for no range, several ranges, a range of another version (If-Range); 416 past the end', async () => {
    for (const headers of [{}, { range: 'bytes=0-1,5-6' }, { range: 'items=0-1' }, { range: 'bytes=0-10', 'if-range': '"another"' }] as Record<string, string>[]) {
      const response = await get(headers);
      assert.equal(response.status, 200, JSON.stringify(headers));
      assert.equal(response.headers.get('accept-ranges'), 'bytes');
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), JSON.stringify(headers));
    }
    assert.equal((await get({ range: 'bytes=0-10', 'if-range': etag })).status, 206);
    const past = await get({ range: `bytes=${bytes.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);
    const head = await get({ range: 'bytes=10-19' }, 'HEAD');
    assert.deepEqual([head.status, head.headers.get('content-length'), head.headers.get('content-range')], [206, '10', `bytes 10-19/${bytes.length}`]);
  });

  test('requestedRange reads the forms of a Range header', () => {
    assert.deepEqual(requestedRange('bytes=5-9', 100), { first: 5, last: 9 });
    assert.deepEqual(requestedRange('bytes=-0', 100), 'unsatisfiable');
    assert.deepEqual(requestedRange('bytes=-500', 100), { first: 0, last: 99 });
    assert.equal(requestedRange('bytes=9-5', 100), null);
    assert.equal(requestedRange('bytes=-', 100), null);
    assert.equal(requestedRange(undefined, 100), null);
  });
});
