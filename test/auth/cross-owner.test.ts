import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuthApi, collect } from '../helpers/auth-api.js';
import { makePng } from '../helpers/images.js';
import { eventsUntilFinished } from '../helpers/service.js';

const RUN = 'id status contentImage { id url } styleImages { id } resultImage { id url } epochs { preview { id } }';
const UNKNOWN_RUN = '00000000-0000-4000-8000-000000000000';
const UNKNOWN_IMAGE = '0'.repeat(64);
const codes = (errors: readonly { extensions?: Record<string, unknown> }[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

describe('owners see only their own runs and images', () => {
  let api: AuthApi;
  let alice: string;
  let bob: string;
  let admin: string;
  let aliceRun: { id: string; contentImage: { id: string; url: string }; resultImage: { id: string; url: string }; epochs: { preview: { id: string } }[] };
  let aliceContent: string;
  let aliceStyle: string;

  const createImage = async (token: string, seed: number) => (await api.query<{ createImage: { id: string } }>(
    token, 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: `data:image/png;base64,${(await makePng(24, 24, seed)).toString('base64')}` },
  )).createImage.id;
  const getImage = (token: string | null, id: string) => fetch(`${api.server.url}/images/${id}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  before(async () => {
    api = await AuthApi.start();
    [alice, bob, admin] = [await api.token('alice'), await api.token('bob'), await api.token('root', true)];
    aliceContent = await createImage(alice, 1);
    aliceStyle = await createImage(alice, 2);
    const started = await api.query(alice, `mutation($i: StartRunInput!) { startRun(input: $i) { id } }`, {
      i: { contentImageId: aliceContent, styleImageIds: [aliceStyle], maxDim: 24, epochs: 1, stepsPerEpoch: 1, idempotencyKey: 'same-key' },
    });
    await eventsUntilFinished(api.service, started.startRun.id);
    aliceRun = (await api.query(alice, `query($id: ID!) { run(id: $id) { ${RUN} } }`, { id: started.startRun.id })).run;
    assert.equal((aliceRun as unknown as { status: string }).status, 'SUCCEEDED');
  });

  after(() => api?.close());

  test('requests without a valid token get 401 UNAUTHENTICATED', async () => {
    for (const token of [null, 'sg_not-a-real-token', `sg_${'A'.repeat(43)}`]) {
      const reply = await api.request(token, '{ serviceInfo { version } }');
      assert.equal(reply.status, 401);
      assert.deepEqual(codes(reply.errors), ['UNAUTHENTICATED']);
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.equal((await getImage(null, aliceContent)).status, 401);
  });

  test('run, runs, cancelRun, deleteRun answer for another owner\'s run as for an unknown one', async () => {
    for (const id of [aliceRun.id, UNKNOWN_RUN]) {
      assert.deepEqual((await api.query(bob, 'query($id: ID!) { run(id: $id) { id } }', { id })).run, null);
      for (const mutation of ['mutation($id: ID!) { cancelRun(id: $id) { id } }', 'mutation($id: ID!) { deleteRun(id: $id) }']) {
        const reply = await api.request(bob, mutation, { id });
        assert.deepEqual(codes(reply.errors), ['NOT_FOUND']);
        assert.equal(reply.errors![0].message, `no run has id "${id}"`);
      }
      const page = await api.request(bob, 'query($after: String) { runs(after: $after) { edges { node { id } } } }', { after: id });
      assert.deepEqual(page.errors?.map((e) => e.extensions?.field), ['after']);
    }
    assert.deepEqual((await api.query(bob, '{ runs { edges { node { id } } } }')).runs.edges, []);
    // Still there for its owner.
    assert.equal((await api.query(alice, 'query($id: ID!) { run(id: $id) { id } }', { id: aliceRun.id })).run.id, aliceRun.id);
    assert.deepEqual((await api.query(alice, '{ runs { edges { node { id } } } }')).runs.edges.map((e: { node: { id: string } }) => e.node.id), [aliceRun.id]);
  });

  test('startRun refuses another owner\'s run to clone and another owner\'s images, as unknown ones', async () => {
    const before = await api.service.db.prisma.run.count();
    const attempts = [
      { cloneOf: aliceRun.id },
      { contentImageId: aliceContent, styleImageIds: [aliceStyle] },
      { contentImageId: aliceRun.resultImage.id, styleImageIds: [aliceStyle] },
      { contentImageId: aliceRun.epochs[0].preview.id, styleImageIds: [aliceStyle] },
    ];
    for (const input of attempts) {
      const reply = await api.request(bob, 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }', { i: { ...input, maxDim: 24, epochs: 1, stepsPerEpoch: 1 } });
      assert.deepEqual(codes(reply.errors), ['BAD_USER_INPUT'], JSON.stringify(reply));
    }
    const unknown = await api.request(bob, 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }', { i: { cloneOf: UNKNOWN_RUN } });
    const cloned = await api.request(bob, 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }', { i: { cloneOf: aliceRun.id } });
    assert.deepEqual(cloned.errors?.[0].message, unknown.errors?.[0].message);
    assert.equal(await api.service.db.prisma.run.count(), before);
  });

  test('image(id) and GET /images/<id> are NOT_FOUND for another owner, for uploads and for what runs produced', async () => {
    const ids = [aliceContent, aliceStyle, aliceRun.resultImage.id, aliceRun.epochs[0].preview.id];
    for (const id of ids) {
      assert.equal((await api.query(bob, 'query($id: ID!) { image(id: $id) { id } }', { id })).image, null);
      assert.equal((await getImage(bob, id)).status, 404);
      assert.equal((await api.query(alice, 'query($id: ID!) { image(id: $id) { id } }', { id })).image.id, id);
      const own = await getImage(alice, id);
      assert.equal(own.status, 200);
      assert.match(own.headers.get('cache-control') ?? '', /^private/);
    }
    assert.equal((await getImage(bob, UNKNOWN_IMAGE)).status, 404);
  });

  test('the same bytes uploaded by two owners are one image that both see; deleting one\'s run keeps the other\'s', async () => {
    const bobsCopy = await createImage(bob, 1);
    assert.equal(bobsCopy, aliceContent);
    assert.equal((await getImage(bob, aliceContent)).status, 200);
    assert.equal(await api.service.db.prisma.image.count({ where: { sha256: aliceContent } }), 1);
    // Bob still cannot see alice's other image.
    assert.equal((await getImage(bob, aliceStyle)).status, 404);
    // Nor when, or that, alice stored those bytes: each owner's image carries their own upload time.
    const createdAt = async (token: string) => (await api.query(token, 'query($id: ID!) { image(id: $id) { createdAt } }', { id: aliceContent })).image.createdAt;
    const claims = await api.service.db.prisma.imageOwner.findMany({ where: { imageSha256: aliceContent }, orderBy: { createdAt: 'asc' } });
    assert.equal(claims.length, 2);
    assert.equal(await createdAt(alice), claims[0].createdAt.toISOString());
    assert.equal(await createdAt(bob), claims[1].createdAt.toISOString());
    assert.ok(claims[1].createdAt > claims[0].createdAt);
  });

  test('idempotency keys are per owner', async () => {
    const content = await createImage(bob, 5);
    const reply = await api.query(bob, 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }', {
      i: { contentImageId: content, styleImageIds: [content], maxDim: 24, epochs: 1, stepsPerEpoch: 1, idempotencyKey: 'same-key' },
    });
    assert.notEqual(reply.startRun.id, aliceRun.id);
    await eventsUntilFinished(api.service, reply.startRun.id);
    assert.equal((await api.query(bob, '{ runs { edges { node { id } } } }')).runs.edges.length, 1);
  });

  test('runEvents of another owner\'s run fails with NOT_FOUND, as for an unknown run', async () => {
    const client = api.ws(bob);
    for (const id of [aliceRun.id, UNKNOWN_RUN]) {
      let results: Awaited<ReturnType<typeof collect>> = [];
      try {
        results = await collect(client, 'subscription($id: ID!) { runEvents(runId: $id) { sequence } }', { id });
      } catch (errors) {
        results = [{ errors: errors as never }];
      }
      assert.deepEqual(results.flatMap((r) => codes(r.errors)), ['NOT_FOUND'], JSON.stringify(results));
    }
    const own = await collect(api.ws(alice), 'subscription($id: ID!) { runEvents(runId: $id) { sequence kind } }', { id: aliceRun.id });
    assert.equal(own.at(-1)?.data?.runEvents.kind, 'STATUS');
  });

  test('an admin sees every owner\'s runs and images', async () => {
    const all = (await api.query(admin, '{ runs { edges { node { id } } } }')).runs.edges;
    assert.equal(all.length, 2);
    assert.equal((await api.query(admin, 'query($id: ID!) { run(id: $id) { id } }', { id: aliceRun.id })).run.id, aliceRun.id);
    assert.equal((await getImage(admin, aliceStyle)).status, 200);
    assert.equal((await api.query(admin, 'query($id: ID!) { image(id: $id) { id } }', { id: aliceStyle })).image.id, aliceStyle);
  });

  test('a revoked token is refused over HTTP (401) and WebSocket (close 4403)', async () => {
    const doomed = await api.token('doomed');
    assert.equal((await api.request(doomed, '{ serviceInfo { version } }')).status, 200);
    await api.tokens.revoke('doomed');
    await new Promise((resolve) => setTimeout(resolve, 2_100)); // verified tokens are cached for 2 s
    const reply = await api.request(doomed, '{ serviceInfo { version } }');
    assert.equal(reply.status, 401);
    assert.deepEqual(codes(reply.errors), ['UNAUTHENTICATED']);
    for (const token of [doomed, null]) {
      await assert.rejects(collect(api.ws(token), '{ serviceInfo { version } }', {}, 10_000), (err: { code?: number }) => {
        assert.equal(err.code, 4403);
        return true;
      });
    }
  });

  test('an open subscription of a token is closed (4403) within a second or two of its revocation', async () => {
    const watcher = await api.token('watcher');
    const image = await createImage(watcher, 9);
    const started = await api.query(watcher, 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }', {
      i: { contentImageId: image, styleImageIds: [image], maxDim: 24, epochs: 500, stepsPerEpoch: 1 },
    });
    let revokedAt = 0;
    const closed = collect(api.ws(watcher), 'subscription($id: ID!) { runEvents(runId: $id) { sequence } }', { id: started.startRun.id }, 60_000, () => {
      if (revokedAt === 0) {
        revokedAt = Date.now();
        void api.tokens.revoke('watcher');
      }
    });
    await assert.rejects(closed, (err: { code?: number }) => {
      assert.equal(err.code, 4403);
      return true;
    });
    const after = Date.now() - revokedAt;
    assert.ok(after < 3_000, `closed ${after} ms after the revocation`);
    await api.query(admin, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: started.startRun.id });
  });

  test('an owner\'s deleteRun keeps images another owner uploaded too', async () => {
    assert.equal((await api.query(alice, 'mutation($id: ID!) { deleteRun(id: $id) }', { id: aliceRun.id })).deleteRun, true);
    // Bob uploaded the same bytes as alice's content image: it stays; alice's style image (hers alone) goes.
    assert.equal((await getImage(bob, aliceContent)).status, 200);
    assert.equal(await api.service.db.prisma.image.count({ where: { sha256: aliceStyle } }), 0);
    assert.equal((await getImage(alice, aliceContent)).status, 404);
  });
});
