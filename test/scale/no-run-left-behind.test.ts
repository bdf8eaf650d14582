import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { stderrLogger } from '../../src/observability/logger.js';
import { openDatabase, type Database } from '../../src/storage/database.js';
import { DATABASE_KINDS, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

/**
 * A `stylegraph serve` process killed (SIGKILL, through STYLEGRAPH_CRASH_AT)
 * while it starts a run: between storing the run and queueing its job, and
 * after both but before answering. Neither crash leaves a run that no worker
 * takes: the first leaves no run at all, the second a run that is taken.
 */

async function post(endpoint: string, query: string, variables: object): Promise<{ data?: any; errors?: unknown }> {
  const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: unknown };
}

async function storeImages(endpoint: string): Promise<[string, string]> {
  const ids: string[] = [];
  for (const seed of [1, 2]) {
    const dataUrl = `data:image/png;base64,${(await makePng(24, 24, seed)).toString('base64')}`;
    ids.push((await post(endpoint, 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: dataUrl })).data.createImage.id);
  }
  return ids as [string, string];
}

const START = 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }';

/** The process dies inside the request: the client gets no answer at all. */
async function startRunKillingServer(served: ServeProcess, images: [string, string]): Promise<void> {
  const exited = new Promise((resolve) => served.child.once('exit', (_code, signal) => resolve(signal)));
  await assert.rejects(post(served.graphql!, START, { i: { contentImageId: images[0], styleImageIds: [images[1]], maxDim: 24, epochs: 1, stepsPerEpoch: 2 } }));
  assert.equal(await exited, 'SIGKILL');
}

async function runsAndJobs(db: Database): Promise<{ runs: { id: string; status: string; jobId: string }[]; jobs: { id: string; state: string }[] }> {
  const runs = await db.prisma.run.findMany({ select: { id: true, status: true, jobId: true } });
  const { rows: jobs } = await db.sql.query<{ id: string; state: string }>("SELECT id::text, state::text FROM pgboss.job WHERE name = 'stylegraph-runs'");
  return { runs, jobs };
}

for (const kind of DATABASE_KINDS) {
  describe(`no accepted run left behind, on ${kind}`, () => {
    let database: TestDatabase | undefined;
    after(async () => database?.drop());

    test('killed between storing a run and queueing it: no run; killed before answering: the run is taken', { timeout: 240_000 }, async () => {
      database = await freshDatabase(kind);
      // On the embedded database one process serves and works; on PostgreSQL API nodes and workers are apart.
      const apiRole = kind === 'pglite' ? 'all' : 'api';
      let served = await startServe(apiRole, { ...database.env, STYLEGRAPH_CRASH_AT: 'run-stored' });
      const images = await storeImages(served.graphql!);
      await startRunKillingServer(served, images);

      served = await startServe(apiRole, { ...database.env, STYLEGRAPH_CRASH_AT: 'run-queued' });
      await startRunKillingServer(served, images);

      // Looked at with nothing running (the embedded database is one process's at a time).
      const db = await openDatabase(database.config, MIGRATIONS_DIR, stderrLogger());
      let stored;
      try {
        stored = await runsAndJobs(db);
      } finally {
        await db.close();
      }
      // The first crash rolled its run back; the second run was committed with its job.
      assert.equal(stored.runs.length, 1);
      assert.equal(stored.runs[0].status, 'QUEUED');
      assert.deepEqual(stored.jobs.map((job) => job.id), [stored.runs[0].jobId]);
      assert.equal(stored.jobs[0].state, 'created');

      const processes = [await startServe(apiRole, database.env)];
      try {
        if (kind === 'postgres') processes.push(await startServe('worker', database.env));
        const runId = stored.runs[0].id;
        let status = 'QUEUED';
        for (let waited = 0; !['SUCCEEDED', 'FAILED', 'CANCELED'].includes(status) && waited < 120; waited++) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          status = (await post(processes[0].graphql!, 'query($id: ID!) { run(id: $id) { status } }', { id: runId })).data.run.status;
        }
        assert.equal(status, 'SUCCEEDED');
      } finally {
        await Promise.all(processes.map((p) => p.stop()));
      }
    });
  });
}
