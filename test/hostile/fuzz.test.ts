/**
 * Hundreds of malformed GraphQL documents, variables, bodies and images from a
 * fixed-seed PRNG: every answer is below 500 and never INTERNAL_SERVER_ERROR,
 * the server keeps answering, and refused input writes no row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import WebSocket from 'ws';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { AuthApi } from '../helpers/auth-api.js';
import { makePng } from '../helpers/images.js';
import { pngChunk, withChunkAfterIhdr, withPngSize } from '../helpers/png-chunks.js';

/** mulberry32: the same cases on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  '{ serviceInfo { version queueLength limits { maxDim } } }',
  'query($first: Int, $after: String) { runs(first: $first, after: $after) { edges { cursor node { id status params { seed } } } pageInfo { hasNextPage } } }',
  'query($id: ID!) { run(id: $id) { id contentImage { id url } epochs { epoch preview { id } } } }',
  'mutation($i: StartRunInput!) { startRun(input: $i) { id status } }',
  'mutation($d: String!) { createImage(dataUrl: $d) { id } }',
  'mutation($id: ID!) { cancelRun(id: $id) { id } deleteRun(id: $id) }',
  'query($id: ID!) { image(id: $id) { id url width } }',
  'fragment F on Run { id status } query { runs { edges { node { ...F } } } }',
];
const JUNK = ['{', '}', '(', ')', '[', ']', '...', '@include(if: true)', '$x', '"\\u0000"', '#', ':', '!', '__typename', '"""', 'on', '\u{1F600}', '0x', '1e999', 'null', '\\', '\n'];

function mutate(rand: () => number, text: string): string {
  let s = text;
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (s.length + 1));
    const op = rand();
    if (op < 0.35) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 8));
    else if (op < 0.7) s = s.slice(0, at) + JUNK[Math.floor(rand() * JUNK.length)] + s.slice(at);
    else s = s.slice(0, at) + s.slice(at, at + 20) + s.slice(at);
  }
  return s;
}

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 3 || r < 0.2) return [null, true, -1, 1e308, 2 ** 53, 'x'.repeat(Math.floor(rand() * 300)), '', '00000000-0000-4000-8000-000000000000'][Math.floor(rand() * 8)];
  if (r < 0.5) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (const key of ['i', 'id', 'd', 'first', 'after', '__proto__', 'constructor', 'contentImageId', 'styleImageIds', 'maxDim', 'epochs', 'cloneOf']) {
    if (rand() < 0.4) o[key] = randomValue(rand, depth + 1);
  }
  return o;
}

/** Hostile documents that are well-formed on purpose: deep, wide, aliased, cyclic, long. */
function structuralCases(): string[] {
  const deep = (n: number) => `{ ${'runs { edges { node { '.repeat(n)}id${' } } }'.repeat(n)} }`;
  return [
    deep(5), deep(50), '{'.repeat(5000) + '}'.repeat(5000), `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: serviceInfo { version }`).join(' ')} }`,
    `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    'fragment A on Query { ...B } fragment B on Query { ...A } { ...A }',
    `query { runs(first: 100) { edges { node { epochs { preview { id } } styleImages { id url } contentImage { id } } } } ${'x: runs(first: 100) { edges { node { id } } } '.repeat(20)}}`,
    '{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }',
    `{ serviceInfo { version ${'@skip(if: false) '.repeat(3000)} } }`,
    `{ ${'serviceInfo { version } '.repeat(3000)} }`,
    `query { run(id: "${'x'.repeat(200_000)}") { id } }`,
    `${Array.from({ length: 50 }, (_, i) => `query Q${i} { serviceInfo { version } }`).join('\n')}`,
    'subscription { runEvents(runId: "nope") { sequence } }',
    '',
    'query',
  ];
}

async function imageCases(rand: () => number): Promise<{ name: string; dataUrl?: string; bytes?: Buffer; type?: string }[]> {
  const png = await makePng(32, 32, 9);
  const jpeg = await sharp(png).jpeg().toBuffer();
  const webp = await sharp(png).webp().toBuffer();
  const gif = await sharp(png).gif().toBuffer();
  const frames = await Promise.all([1, 2, 3].map((s) => makePng(16, 16, s)));
  const animatedWebp = await sharp(frames, { join: { animated: true } }).webp().toBuffer();
  const animatedGif = await sharp(frames, { join: { animated: true } }).gif().toBuffer();
  const apng = withChunkAfterIhdr(png, pngChunk('acTL', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])));
  // 2000 x 2000 of one colour: a few kB that decode to 12 MB, over the test server's 1 Mpx.
  const bomb = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
  const jpegHuge = Buffer.from(jpeg);
  const sof = jpegHuge.indexOf(Buffer.from([0xff, 0xc0]));
  jpegHuge.writeUInt16BE(60000, sof + 5);
  jpegHuge.writeUInt16BE(60000, sof + 7);
  const svg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');
  const cases: { name: string; dataUrl?: string; bytes?: Buffer; type?: string }[] = [
    { name: 'svg', bytes: svg }, { name: 'svg as svg', bytes: svg, type: 'image/svg+xml' }, { name: 'gif', bytes: gif },
    { name: 'animated webp', bytes: animatedWebp }, { name: 'animated gif', bytes: animatedGif }, { name: 'apng', bytes: apng },
    { name: 'bomb', bytes: bomb }, { name: 'png 100000x100000 header', bytes: withPngSize(png, 100_000, 100_000) },
    { name: 'png 0x0 header', bytes: withPngSize(png, 0, 0) }, { name: 'jpeg 60000x60000 header', bytes: jpegHuge },
    { name: 'png declared jpeg', bytes: png, type: 'image/jpeg' }, { name: 'jpeg declared png', bytes: jpeg, type: 'image/png' },
    { name: 'png declared html', bytes: png, type: 'text/html' }, { name: 'webp declared gif', bytes: webp, type: 'image/gif' },
    { name: 'empty', bytes: Buffer.alloc(0) }, { name: 'not base64', dataUrl: 'data:image/png;base64,@@@@' },
    { name: 'no comma', dataUrl: 'data:image/png;base64' }, { name: 'http url', dataUrl: 'http://169.254.169.254/latest' },
    { name: 'file url', dataUrl: 'file:///etc/passwd' },
  ];
  for (let i = 0; i < 60; i++) cases.push({ name: `random ${i}`, bytes: Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 2000) }, () => Math.floor(rand() * 256))) });
  for (const [name, source] of [['png', png], ['jpeg', jpeg], ['webp', webp]] as const) {
    for (let i = 0; i < 25; i++) cases.push({ name: `truncated ${name} ${i}`, bytes: source.subarray(0, Math.floor(rand() * (source.length - 1))) });
    for (let i = 0; i < 15; i++) {
      const corrupt = Buffer.from(source);
      for (let k = 0; k < 1 + Math.floor(rand() * 20); k++) corrupt[Math.floor(rand() * corrupt.length)] = Math.floor(rand() * 256);
      cases.push({ name: `corrupt ${name} ${i}`, bytes: corrupt });
    }
    // The signature of one format on the body of another.
    cases.push({ name: `${name} signature spoof`, bytes: Buffer.concat([source.subarray(0, 12), Buffer.from(Array.from({ length: 500 }, () => Math.floor(rand() * 256)))]) });
  }
  return cases;
}

describe('hostile input (fixed seed)', () => {
  let api: AuthApi;
  let token: string;
  const post = async (body: string | Buffer, headers: Record<string, string> = {}, method = 'POST', search = '') => {
    const response = await fetch(`${api.graphqlUrl}${search}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: method === 'GET' ? undefined : body,
    });
    const text = await response.text();
    return { status: response.status, text };
  };
  const rows = async () => {
    const p = api.service.db.prisma;
    return { images: await p.image.count(), owners: await p.imageOwner.count(), runs: await p.run.count(), epochs: await p.runEpoch.count() };
  };
  const check = (where: string, reply: { status: number; text: string }) => {
    assert.ok(reply.status < 500, `${where}: HTTP ${reply.status} ${reply.text.slice(0, 300)}`);
    assert.ok(!reply.text.includes('INTERNAL_SERVER_ERROR'), `${where}: ${reply.text.slice(0, 300)}`);
  };

  before(async () => {
    api = await AuthApi.start({ role: 'api', config: { limits: { ...DEFAULT_API_LIMITS, maxImageBytes: 200_000, maxImagePixels: 1_000_000, maxDim: 64, maxTotalSteps: 10, maxStyleImages: 8 } } });
    token = await api.token('fuzzer');
  });
  after(() => api?.close());

  test('hundreds of malformed GraphQL requests: no 5xx, nothing written', async () => {
    const rand = prng(20261129);
    const start = await rows();
    let count = 0;
    for (const query of structuralCases()) {
      check(`structural ${query.slice(0, 60)}`, await post(JSON.stringify({ query })));
      count++;
    }
    for (let i = 0; i < 300; i++) {
      const query = mutate(rand, VALID[Math.floor(rand() * VALID.length)]);
      const variables = rand() < 0.7 ? randomValue(rand) : mutate(rand, '{"id":"x"}');
      const body = rand() < 0.9 ? JSON.stringify({ query, variables, operationName: rand() < 0.1 ? 'Nope' : undefined }) : mutate(rand, JSON.stringify({ query }));
      check(`case ${i}: ${body.slice(0, 200)}`, await post(body));
      count++;
    }
    // Bodies and transports around the documents.
    const odd: [string | Buffer, Record<string, string>, string?, string?][] = [
      [JSON.stringify([{ query: '{ serviceInfo { version } }' }, { query: '{ serviceInfo { version } }' }]), {}],
      ['{ serviceInfo { version } }', { 'content-type': 'text/plain' }],
      ['not json', {}], [Buffer.from([0xff, 0xfe, 0x00]), {}], ['null', {}], ['"string"', {}], ['{"query": 5}', {}],
      ['{"query": "{ serviceInfo { version } }", "variables": [1]}', {}],
      ['[]'.repeat(1) + '['.repeat(100_000) + ']'.repeat(100_000), {}],
      ['', {}, 'GET', '?query=mutation%7BdeleteRun(id%3A%22x%22)%7D'],
      ['', {}, 'GET', '?query=%7B%7B%7B'],
      ['', {}, 'PUT'],
      ['--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }],
      ['--x\r\nbroken', { 'content-type': 'multipart/form-data; boundary=x', 'apollo-require-preflight': 'true' }],
      [`--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"mutation($f: Upload!){ uploadImage(file: $f) { id } }","variables":{"f":null}}\r\n--x\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.__proto__.f"]}\r\n--x\r\nContent-Disposition: form-data; name="0"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabc\r\n--x--\r\n`, { 'content-type': 'multipart/form-data; boundary=x', 'apollo-require-preflight': 'true' }],
    ];
    for (const [body, headers, method, search] of odd) {
      check(`odd ${String(body).slice(0, 60)}`, await post(body, headers, method, search));
      count++;
    }
    const big = await fetch(api.graphqlUrl, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: Buffer.alloc(2_000_000, 0x20) });
    assert.equal(big.status, 413);
    assert.ok(count >= 300);
    assert.deepEqual(await rows(), start);
    assert.equal((await api.query(token, '{ serviceInfo { version } }')).serviceInfo.version.length > 0, true);
  });

  test('the same documents over graphql-ws: the connection may be refused, the server never fails', async () => {
    const rand = prng(7);
    const socket = new WebSocket(`${api.server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    const messages: { type: string; payload?: unknown }[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await new Promise<void>((resolve) => { const wait = () => (messages.some((m) => m.type === 'connection_ack') ? resolve() : setTimeout(wait, 10)); wait(); });
    const cases = [...structuralCases(), ...Array.from({ length: 100 }, () => mutate(rand, VALID[Math.floor(rand() * VALID.length)]))];
    // Variables that are not an object break the protocol itself (graphql-ws closes with 4400): those are left to the last case.
    const objectOf = (value: unknown) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { v: value });
    cases.forEach((query, i) => socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query, variables: objectOf(randomValue(rand)) } })));
    socket.send(JSON.stringify({ id: 'last', type: 'subscribe', payload: { query: '{ serviceInfo { version } }', variables: [1] } }));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    socket.close(1000);
    const code = await closed;
    assert.ok(code !== 4500 && code !== 1011, `closed with ${code}`);
    assert.ok(messages.filter((m) => m.type === 'error' || m.type === 'next').length > 50, `${messages.length} messages, closed with ${code}: ${JSON.stringify(messages.slice(0, 3))}`);
    const internal = messages.filter((m) => JSON.stringify(m.payload ?? '').includes('INTERNAL_SERVER_ERROR'));
    assert.deepEqual(internal, []);
  });

  test('hostile images (data URLs and uploads) are refused with BAD_USER_INPUT, writing nothing', async () => {
    const rand = prng(42);
    const cases = await imageCases(rand);
    const start = await rows();
    const accepted = new Set<string>();
    for (const c of cases) {
      const dataUrl = c.dataUrl ?? `data:${c.type ?? 'image/png'};base64,${c.bytes!.toString('base64')}`;
      // Declared types are part of the case; without one, the data URL says image/png (PNG cases must pass that way).
      const reply = await post(JSON.stringify({ query: 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', variables: { d: dataUrl } }));
      check(c.name, reply);
      const body = JSON.parse(reply.text);
      if (body.data?.createImage) accepted.add(body.data.createImage.id);
      else assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${c.name}: ${reply.text.slice(0, 300)}`);
      if (c.bytes && c.bytes.length > 0) {
        const form = new FormData();
        form.set('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadImage(file: $f) { id } }', variables: { f: null } }));
        form.set('map', JSON.stringify({ 0: ['variables.f'] }));
        form.set('0', new Blob([c.bytes], { type: c.type ?? '' }), 'upload.bin');
        const response = await fetch(api.graphqlUrl, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
        const text = await response.text();
        check(`upload ${c.name}`, { status: response.status, text });
        const uploaded = JSON.parse(text);
        if (uploaded.data?.uploadImage) accepted.add(uploaded.data.uploadImage.id);
        else assert.equal(uploaded.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `upload ${c.name}: ${text.slice(0, 300)}`);
      }
    }
    for (const name of ['svg', 'gif', 'animated webp', 'animated gif', 'apng', 'bomb', 'png 100000x100000 header', 'jpeg 60000x60000 header', 'png declared jpeg', 'jpeg declared png']) {
      assert.ok(cases.some((c) => c.name === name));
    }
    assert.ok(cases.length >= 150, `${cases.length} cases`);
    const end = await rows();
    // Only what was accepted (some corrupted files still decode) was written, once each.
    assert.equal(end.images - start.images, accepted.size);
    assert.equal(end.owners - start.owners, accepted.size);
    assert.equal(end.runs, start.runs);
  });
});
