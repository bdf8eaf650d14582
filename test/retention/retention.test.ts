/**
 * Retention on both databases: exactly the old finished runs, the previews of
 * older runs (not their final images) and the old unused images go; a queued
 * or running run is never touched, however old.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { loadRetentionConfig, RetentionService } from '../../src/retention/retention.js';
import type { RunStatus } from '../../src/runs/types.js';
import { ADVISORY_LOCKS } from '../../src/storage/advisory-locks.js';
import { storeImage } from '../../src/storage/images.js';
import { DATABASE_KINDS, freshDatabase } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { startTestService, type TestService } from '../helpers/service.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date();
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

async function image(service: TestService, seed: number, createdAt?: Date): Promise<string> {
  const { sha256 } = await storeImage(service.db.prisma, await makePng(24, 24, seed), { mimeType: 'image/png', width: 24, height: 24 });
  if (createdAt) await service.db.prisma.image.update({ where: { sha256 }, data: { createdAt } });
  return sha256;
}

/** A run put straight into the state wanted: `previews` epochs, the last one's image the result when SUCCEEDED. */
async function run(
  service: TestService,
  options: { content: string; style: string; status: RunStatus; createdDaysAgo: number; finishedDaysAgo?: number; previews: string[] },
): Promise<string> {
  const { prisma } = service.db;
  const { run: created } = await service.runs.startRun({ contentImage: options.content, styleImages: [options.style], params: { epochs: options.previews.length || 1 } });
  const id = created.id;
  const started = options.status === 'QUEUED' ? null : daysAgo(options.createdDaysAgo - 0.01);
  await prisma.run.update({ where: { id }, data: { createdAt: daysAgo(options.createdDaysAgo), status: options.status === 'QUEUED' ? 'QUEUED' : 'RUNNING', startedAt: started } });
  for (const [i, preview] of options.previews.entries()) {
    await prisma.runEpoch.create({
      data: {
        runId: id, epoch: i + 1, step: i + 1, totalLoss: 1, contentLoss: 1, styleLoss: 1, totalVariationLoss: 1,
        layerLosses: { content: {}, style: {} }, elapsedMs: 10, previewSha256: preview, eventSeq: 3 + i,
      },
    });
  }
  if (options.finishedDaysAgo !== undefined) {
    await prisma.run.update({
      where: { id },
      data: {
        status: options.status,
        finishedAt: daysAgo(options.finishedDaysAgo),
        ...(options.status === 'SUCCEEDED' ? { resultSha256: options.previews.at(-1) } : {}),
      },
    });
  }
  return id;
}

test('retention is off unless configured', () => {
  const config = loadRetentionConfig({});
  assert.deepEqual(config, { runDays: undefined, previewDays: undefined, unusedImageDays: undefined, intervalSeconds: 3600 });
  assert.deepEqual(
    loadRetentionConfig({ STYLEGRAPH_RETENTION_RUN_DAYS: '30', STYLEGRAPH_RETENTION_PREVIEW_DAYS: '0.5', STYLEGRAPH_RETENTION_IMAGE_DAYS: 'off', STYLEGRAPH_RETENTION_INTERVAL_MINUTES: '5' }),
    { runDays: 30, previewDays: 0.5, unusedImageDays: undefined, intervalSeconds: 300 },
  );
  assert.throws(() => loadRetentionConfig({ STYLEGRAPH_RETENTION_RUN_DAYS: '-1' }), /STYLEGRAPH_RETENTION_RUN_DAYS/);
});

test('each advisory lock the service takes has an id of its own', () => {
  const ids = Object.values(ADVISORY_LOCKS);
  assert.equal(new Set(ids).size, ids.length, JSON.stringify(ADVISORY_LOCKS));
  assert.equal(ADVISORY_LOCKS.prismaMigrate, 72707369, 'the id prisma migrate takes');
});

test('a service starts on PostgreSQL while another process holds the retention lock (a long sweep)', { timeout: 120_000 }, async () => {
  const database = await freshDatabase('postgres');
  const sweeper = new pg.Client({ connectionString: database.env.DATABASE_URL });
  await sweeper.connect();
  let service: TestService | undefined;
  try {
    await sweeper.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.retention]);
    // Migrations and the queue's install take their own locks: this must not wait on the sweep.
    service = await startTestService('postgres', { role: 'api', database });
    const { rows } = await sweeper.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
        AND ((classid::bigint << 32) | objid::bigint) = $1) AS held`,
      [ADVISORY_LOCKS.retention],
    );
    assert.equal(rows[0].held, true, 'the retention lock was held all along');
  } finally {
    await service?.stop();
    await sweeper.end();
    await database.drop();
  }
});

for (const kind of DATABASE_KINDS) {
  describe(`retention on ${kind}`, () => {
    test('removes exactly the old finished runs, old previews and old unused images', async () => {
      // No worker: queued runs stay queued.
      const service = await startTestService(kind, { role: 'api' });
      try {
        const { prisma } = service.db;
        const shared = await image(service, 1); // a style every run uses
        const contentA = await image(service, 2);
        const contentB = await image(service, 3); // also the content of the recent run D
        const [pA1, pA2, pC1, pC2, pC3, pD1, pD2, pR1] = await Promise.all([10, 11, 20, 21, 22, 30, 31, 40].map((seed) => image(service, seed)));
        const oldUnused = await image(service, 50, daysAgo(40));
        const newUnused = await image(service, 51);
        const contentQ = await image(service, 60, daysAgo(60));

        const a = await run(service, { content: contentA, style: shared, status: 'SUCCEEDED', createdDaysAgo: 41, finishedDaysAgo: 40, previews: [pA1, pA2] });
        const b = await run(service, { content: contentB, style: shared, status: 'FAILED', createdDaysAgo: 41, finishedDaysAgo: 40, previews: [] });
        const c = await run(service, { content: contentA, style: shared, status: 'SUCCEEDED', createdDaysAgo: 11, finishedDaysAgo: 10, previews: [pC1, pC2, pC3] });
        const d = await run(service, { content: contentB, style: shared, status: 'SUCCEEDED', createdDaysAgo: 2, finishedDaysAgo: 1, previews: [pD1, pD2] });
        const e = await run(service, { content: contentB, style: shared, status: 'CANCELED', createdDaysAgo: 10, finishedDaysAgo: 8, previews: [] });
        const q = await run(service, { content: contentQ, style: shared, status: 'QUEUED', createdDaysAgo: 60, previews: [] });
        const r = await run(service, { content: contentA, style: shared, status: 'RUNNING', createdDaysAgo: 60, previews: [pR1] });

        const retention = new RetentionService(prisma, service.runs, { runDays: 30, previewDays: 7, unusedImageDays: 30, intervalSeconds: 3600 }, service.ops.telemetry);
        assert.deepEqual(await retention.sweep(NOW), { runs: 2, previews: 2, images: 1 });

        const runs = await prisma.run.findMany({ select: { id: true, status: true } });
        assert.deepEqual(new Set(runs.map((x) => x.id)), new Set([c, d, e, q, r]), 'the runs finished 40 days ago are gone');
        assert.equal(runs.find((x) => x.id === q)!.status, 'QUEUED');
        assert.equal(runs.find((x) => x.id === r)!.status, 'RUNNING');

        const images = new Set((await prisma.image.findMany({ select: { sha256: true } })).map((x) => x.sha256));
        const gone = [pA1, pA2, pC1, pC2, oldUnused];
        const kept = [shared, contentA, contentB, contentQ, pC3, pD1, pD2, pR1, newUnused];
        for (const sha of gone) assert.ok(!images.has(sha), `image ${gone.indexOf(sha)} of the gone ones is still stored`);
        for (const sha of kept) assert.ok(images.has(sha), `image ${kept.indexOf(sha)} of the kept ones was removed`);
        assert.equal(images.size, kept.length);

        // C keeps its epochs' numbers; only its final epoch keeps a preview (its result).
        const epochsOfC = await service.runs.listEpochs(c);
        assert.deepEqual(epochsOfC.map((x) => [x.epoch, x.previewImage]), [[1, null], [2, null], [3, pC3]]);
        assert.equal((await service.runs.getRun(c))!.resultImage, pC3);
        assert.deepEqual((await service.runs.listEpochs(d)).map((x) => x.previewImage), [pD1, pD2]);
        assert.deepEqual((await service.runs.listEpochs(r)).map((x) => x.previewImage), [pR1], 'a running run keeps its previews');

        // Nothing more to do: a second sweep removes nothing.
        assert.deepEqual(await retention.sweep(NOW), { runs: 0, previews: 0, images: 0 });
        const metrics = await service.ops.telemetry.metrics.registry.getSingleMetricAsString('stylegraph_retention_removed_total');
        assert.match(metrics, /kind="runs"} 2/);
        assert.match(metrics, /kind="previews"} 2/);
        assert.match(metrics, /kind="images"} 1/);

        // Even "older than 0 days" never touches the queued or running run.
        const everything = new RetentionService(prisma, service.runs, { runDays: 1e-9, previewDays: 1e-9, unusedImageDays: 1e-9, intervalSeconds: 3600 });
        await everything.sweep(new Date(NOW.getTime() + DAY));
        assert.deepEqual(new Set((await prisma.run.findMany({ select: { id: true } })).map((x) => x.id)), new Set([q, r]));
        assert.deepEqual((await service.runs.listEpochs(r)).map((x) => x.previewImage), [pR1]);
      } finally {
        await service.close();
      }
    });
  });
}
