/**
 * Single requests chosen to break the service, each sent to a real server
 * on the embedded default (auth off on loopback): refused up front with the
 * field or the reason, nothing written, and the server still runs an
 * ordinary tiny run afterwards.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { makePng } from '../helpers/images.js';
import { eventsUntilFinished, TINY_PARAMS } from '../helpers/service.js';
import { errorCodes, pngDataUrl, TestApi } from '../graphql/harness.js';

const START = 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }';

/** A raw HTTP request, with headers fetch would not let a test set (Host). */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a WebSocket handshake with these headers is accepted; the status it was refused with otherwise. */
function handshake(url: string, headers: Record<string, string>): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('error', (err) => reject(err));
  });
}

describe('hostile requests on the embedded default', () => {
  let api: TestApi;
  let content: string;
  let style: string;
  const rows = async () => ({
    runs: await api.service.db.prisma.run.count(),
    images: await api.service.db.prisma.image.count(),
  });

  before(async () => {
    api = await TestApi.start('pglite');
    content = await api.createImage(1);
    style = await api.createImage(2);
  });
  after(() => api?.close());

  test('a cross-origin WebSocket (hijacking) is refused at the handshake; the server\'s own page and non-browser clients are not', async () => {
    const url = `${api.server.url.replace(/^http/, 'ws')}/graphql`;
    assert.equal(await handshake(url, { origin: 'https://evil.example' }), 403);
    assert.equal(await handshake(url, { origin: 'null' }), 403);
    assert.equal(await handshake(url, { origin: api.server.url }), 'open');
    assert.equal(await handshake(url, {}), 'open');
  });

  test('a foreign Host (DNS rebinding) and a foreign Origin are refused before anything is written', async () => {
    const before = await rows();
    const body = JSON.stringify({ query: 'mutation($d: String!) { createImage(dataUrl: $d) { id url } }', variables: { d: await pngDataUrl(24, 24, 77) } });
    const { port } = api.server;
    const foreign: Record<string, string>[] = [{ host: `rebind.evil.example:${port}` }, { origin: 'https://evil.example' }, { host: `rebind.evil.example:${port}`, origin: `http://rebind.evil.example:${port}` }];
    for (const headers of foreign) {
      const reply = await post(api.graphqlUrl, headers, body);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.equal(JSON.parse(reply.text).errors[0].extensions.code, 'FORBIDDEN');
    }
    assert.deepEqual(await rows(), before);
    // Its own names: image URLs are built on them.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const reply = await post(api.graphqlUrl, { host, origin: `http://${host}` }, body);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(JSON.parse(reply.text).data.createImage.url.startsWith(`http://${host}/images/`), true);
    }
  });

  test('a data URL\'s scheme and parameters are case-insensitive (RFC 2397)', async () => {
    const png = (await makePng(24, 24, 31)).toString('base64');
    for (const dataUrl of [`DATA:image/png;base64,${png}`, `Data:IMAGE/PNG;BASE64,${png}`]) {
      const { createImage } = await api.query('mutation($d: String!) { createImage(dataUrl: $d) { mimeType width } }', { d: dataUrl });
      assert.deepEqual(createImage, { mimeType: 'image/png', width: 24 });
    }
  });

  test('more style images than the server blends are refused naming styleImageIds', async () => {
    const before = await rows();
    const reply = await api.request(START, { i: { contentImageId: content, styleImageIds: Array(9).fill(style), ...TINY_PARAMS } });
    assert.deepEqual(errorCodes(reply.errors), [{ code: 'BAD_USER_INPUT', field: 'styleImageIds' }]);
    assert.match(reply.errors![0].message, /at most 8 style images/);
    assert.deepEqual(await rows(), before);
  });

  test('style images scaled past the engine\'s memory are refused naming styleScale; an ordinary tiny run then succeeds', async () => {
    const big = await api.createImage(3, 600);
    const reply = await api.request(START, { i: { contentImageId: big, styleImageIds: [big], maxDim: 512, styleScale: 8, epochs: 1, stepsPerEpoch: 1 } });
    assert.deepEqual(errorCodes(reply.errors), [{ code: 'BAD_USER_INPUT', field: 'styleScale' }], JSON.stringify(reply.errors));
    assert.match(reply.errors![0].message, /the largest that fits at maxDim 512 is \d/);

    const { startRun } = await api.query(START, { i: { contentImageId: content, styleImageIds: [style], ...TINY_PARAMS } });
    const last = (await eventsUntilFinished(api.service, startRun.id)).at(-1)!;
    assert.equal(last.type === 'status' && last.status, 'SUCCEEDED');
  });

  test('a finished run keeps no checkpoint: it never resumes', async () => {
    const runs = await api.service.db.prisma.run.findMany({ where: { status: { in: ['SUCCEEDED', 'FAILED', 'CANCELED'] } }, select: { id: true } });
    assert.ok(runs.length > 0);
    const ids = runs.map((run) => run.id);
    assert.equal(await api.service.db.prisma.runCheckpoint.count({ where: { runId: { in: ids } } }), 0);
    assert.equal(await api.service.db.prisma.runLbfgsPair.count({ where: { runId: { in: ids } } }), 0);
  });

  test('many subscribers selecting epochs under many aliases read a run\'s epochs once per event, not once per subscriber and alias', async () => {
    const { startRun } = await api.query(START, { i: { contentImageId: content, styleImageIds: [style], ...TINY_PARAMS, epochs: 4 } });
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: run { epochs { epoch preview { id width } } }`).join(' ');
    const runs = api.service.runs;
    const listEpochs = runs.listEpochs.bind(runs);
    let reads = 0;
    runs.listEpochs = (runId) => {
      reads++;
      return listEpochs(runId);
    };
    try {
      const subscribers = await Promise.all(Array.from({ length: 20 }, () => api.subscribe(
        `subscription($id: ID!) { runEvents(runId: $id) { sequence ${aliases} } }`, { id: startRun.id },
      )));
      const events = subscribers[0].length;
      assert.ok(events >= 5, `${events} events`);
      for (const results of subscribers) {
        assert.equal(results.length, events);
        assert.equal(results.at(-1)!.errors, undefined);
        assert.equal((results.at(-1)!.data as { runEvents: { a19: { epochs: unknown[] } } }).runEvents.a19.epochs.length, 4);
      }
      // Each subscriber replays the stored epochs once as it opens (one read each); the events' selections share theirs.
      assert.ok(reads <= 20 + 2 * events, `${reads} reads of the epochs for ${events} events to 20 subscribers x 20 aliases`);
    } finally {
      runs.listEpochs = listEpochs;
    }
  });
});
