/**
 * Database connections lost under a running run (pg_terminate_backend, as a
 * server restart or failover does): the worker retries its reads and writes
 * and the run finishes, leaving no row behind that a failed write made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freshDatabase } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService, type TestService } from '../helpers/service.js';

describe('database faults during a run on postgres', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService('postgres', { database: await freshDatabase('postgres') });
  });
  after(() => service?.close());

  test('connections terminated every 150 ms while a run is RUNNING: it succeeds, every epoch stored once, no orphaned image', async () => {
    const content = await service.image(1);
    const style = await service.image(2);
    const { run } = await service.runs.startRun({ contentImage: content, styleImages: [style], params: { maxDim: 24, epochs: 8, stepsPerEpoch: 10, seed: 3 } });
    const finished = eventsUntilFinished(service, run.id, 120_000);

    const url = new URL((service.database.config as { url: string }).url);
    const killer = new pg.Client({ connectionString: url.toString() });
    await killer.connect();
    let kills = 0;
    let stop = false;
    const killing = (async () => {
      // Once the run is RUNNING, for as long as it runs (or 12 s).
      while (!stop && (await service.runs.getRun(run.id).catch(() => null))?.status === 'QUEUED') await new Promise((r) => setTimeout(r, 20));
      const until = Date.now() + 12_000;
      while (!stop && Date.now() < until) {
        const { rowCount } = await killer.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [url.pathname.slice(1)],
        );
        kills += rowCount ?? 0;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    let events;
    try {
      events = await finished;
    } finally {
      stop = true;
      await killing;
      await killer.end();
    }
    const last = events.at(-1)!;
    assert.equal(last.type === 'status' && last.status, 'SUCCEEDED', JSON.stringify(last));
    assert.ok(kills > 0, 'connections were terminated while it ran');

    const { prisma } = service.db;
    const epochs = await prisma.runEpoch.findMany({ where: { runId: run.id }, orderBy: { epoch: 'asc' } });
    assert.deepEqual(epochs.map((epoch) => epoch.epoch), [1, 2, 3, 4, 5, 6, 7, 8]);
    const used = new Set([content, style, ...epochs.map((epoch) => epoch.previewSha256!)]);
    assert.equal(await prisma.image.count(), used.size, 'every stored image is one the run uses');
    assert.equal(await prisma.runCheckpoint.count(), 0, 'the finished run keeps no checkpoint');
  });
});
