import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenStore } from '../../src/auth/tokens.js';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { stderrLogger } from '../../src/observability/logger.js';
import { openDatabase, type Database } from '../../src/storage/database.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

/**
 * The limits of one token hold for the deployment, not per process: two
 * `stylegraph serve --role api` processes on one PostgreSQL database, one
 * token's requests spread over both at once.
 */

const MAX_QUEUED_RUNS = 3;
const BURST = 12;

interface Reply {
  status: number;
  retryAfter: string | null;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(endpoint: string, token: string, query: string, variables: object = {}): Promise<Reply> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Reply['body'] };
}

describe('one token\'s limits across two API processes, on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Database;
  const nodes: ServeProcess[] = [];
  const endpoints: string[] = [];

  before(async () => {
    database = await freshDatabase('postgres');
    db = await openDatabase(database.config, MIGRATIONS_DIR, stderrLogger());
    const env = {
      ...database.env,
      STYLEGRAPH_AUTH: 'required',
      STYLEGRAPH_MAX_QUEUED_RUNS: String(MAX_QUEUED_RUNS),
      // No refill to speak of while the test runs: what a token gets is its burst.
      STYLEGRAPH_RATE_LIMIT_PER_MINUTE: '1',
      STYLEGRAPH_RATE_LIMIT_BURST: String(BURST),
    };
    for (let i = 0; i < 2; i++) nodes.push(await startServe('api', env));
    endpoints.push(...nodes.map((node) => node.graphql!));
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await db?.close();
    await database?.drop();
  });

  test('racing startRun calls: exactly the queued-runs limit succeed, the rest are refused with a retry time', { timeout: 60_000 }, async () => {
    const { token } = await new TokenStore(db.prisma).create({ name: 'sweeper' });
    const png = `data:image/png;base64,${(await makePng(24, 24, 5)).toString('base64')}`;
    const image = (await post(endpoints[0], token, 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: png })).body.data.createImage.id;
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => post(endpoints[i % 2], token,
      'mutation($i: StartRunInput!) { startRun(input: $i) { id } }',
      { i: { contentImageId: image, styleImageIds: [image], maxDim: 24, epochs: 1, stepsPerEpoch: 1, seed: i } })));
    const started = replies.filter((reply) => reply.body.data?.startRun);
    const refused = replies.filter((reply) => reply.body.errors);
    assert.equal(started.length, MAX_QUEUED_RUNS, JSON.stringify(replies.map((reply) => reply.body)));
    assert.equal(refused.length, 8 - MAX_QUEUED_RUNS);
    for (const reply of refused) {
      const error = reply.body.errors![0];
      assert.equal(error.extensions?.code, 'RATE_LIMITED');
      assert.equal(error.extensions?.limit, 'queuedRuns');
      assert.ok(Number(error.extensions?.retryAfterSeconds) > 0);
      assert.match(error.message, new RegExp(`at once \\(${MAX_QUEUED_RUNS}\\)`));
    }
    // Nothing beyond the limit was written.
    assert.equal(await db.prisma.run.count(), MAX_QUEUED_RUNS);
  });

  test('racing requests of one token: exactly its burst is served, the rest get 429 with Retry-After', { timeout: 60_000 }, async () => {
    const { token } = await new TokenStore(db.prisma).create({ name: 'poller' });
    const replies = await Promise.all(Array.from({ length: BURST + 8 }, (_, i) => post(endpoints[i % 2], token, '{ serviceInfo { version } }')));
    const served = replies.filter((reply) => reply.status === 200);
    const limited = replies.filter((reply) => reply.status === 429);
    assert.equal(served.length, BURST);
    assert.equal(limited.length, 8);
    for (const reply of limited) {
      assert.equal(reply.body.errors?.[0].extensions?.code, 'RATE_LIMITED');
      assert.ok(Number(reply.retryAfter) >= 1);
    }
    // The two processes counted together: each served part of the burst.
    assert.ok([0, 1].every((node) => replies.some((reply, i) => i % 2 === node && reply.status === 200)));
  });
});
