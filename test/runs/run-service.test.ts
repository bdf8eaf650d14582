import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ParamError } from '../../src/engine/params.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService, TINY_PARAMS, type TestService } from '../helpers/service.js';

// The API role: runs stay QUEUED (no worker), so the service is tested on its own.
for (const kind of DATABASE_KINDS) {
  describe(`run service on ${kind}`, () => {
    let service: TestService;
    let content: string;
    let style: string;
    before(async () => {
      service = await startTestService(kind, { role: 'api' });
      content = await service.image(1);
      style = await service.image(2);
    });
    after(() => service?.close());

    const count = () => service.db.prisma.run.count();

    test('a new run is QUEUED with every parameter, the seed and its images in order', async () => {
      const style2 = await service.image(3);
      const { run, created } = await service.runs.startRun({ contentImage: content, styleImages: [style2, style], params: TINY_PARAMS });
      assert.equal(created, true);
      assert.equal(run.status, 'QUEUED');
      assert.equal(run.params.epochs, 3);
      assert.equal(run.params.learningRate, 0.02, 'defaults filled in');
      assert.equal(run.seed, 7);
      assert.deepEqual(run.styleImages, [style2, style]);
      assert.equal(run.eventSeq, 1);
      assert.deepEqual(await service.runs.getRun(run.id), run);
    });

    test('refused parameters leave no row', async () => {
      const before = await count();
      const refusals: [Record<string, unknown>, string][] = [
        [{ params: { epochs: 0 } }, 'epochs'],
        [{ params: { bogus: 1 } }, 'bogus'],
        [{ params: { styleBlend: [1, 2] } }, 'styleBlend'],
        [{ styleImages: [] }, 'styleImages'],
        [{ contentImage: 'f'.repeat(64) }, 'contentImage'],
        [{ styleImages: ['e'.repeat(64)] }, 'styleImages[0]'],
      ];
      for (const [change, field] of refusals) {
        await assert.rejects(
          service.runs.startRun({ contentImage: content, styleImages: [style], ...change }),
          (err: unknown) => err instanceof ParamError && err.field === field,
          field,
        );
      }
      assert.equal(await count(), before);
    });

    test('an idempotency key returns the first run', async () => {
      const input = { contentImage: content, styleImages: [style], params: TINY_PARAMS, idempotencyKey: `key-${kind}` };
      const first = await service.runs.startRun(input);
      const racing = await Promise.all([service.runs.startRun(input), service.runs.startRun(input)]);
      for (const again of racing) {
        assert.equal(again.created, false);
        assert.equal(again.run.id, first.run.id);
      }
      // Concurrent first requests with a new key also make one run.
      const fresh = { ...input, idempotencyKey: `race-${kind}` };
      const results = await Promise.all(Array.from({ length: 5 }, () => service.runs.startRun(fresh)));
      assert.equal(new Set(results.map((r) => r.run.id)).size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
    });

    test('cancel while queued: CANCELED once, with numbered events; finished runs stay as they are', async () => {
      const { run } = await service.runs.startRun({ contentImage: content, styleImages: [style], params: TINY_PARAMS });
      // On PostgreSQL events come back from the database after cancelRun returns, so they are awaited, not read at once.
      const finished = eventsUntilFinished(service, run.id, 10_000);
      const canceled = await service.runs.cancelRun(run.id);
      assert.equal(canceled?.status, 'CANCELED');
      assert.ok(canceled?.finishedAt);
      // The creation's own event (1) may still be on its way too: the cancel's is the one after it.
      assert.deepEqual((await finished).filter((e) => e.seq > run.eventSeq).map((e) => [e.type, e.seq]), [['status', 2]]);
      const again = await service.runs.cancelRun(run.id);
      assert.deepEqual(again, canceled);
      assert.equal((await service.runs.getRun(run.id))?.eventSeq, 2, 'a second cancel numbers no event');
      assert.equal(await service.runs.cancelRun('00000000-0000-4000-8000-000000000000'), null);
    });

    test('queue position counts the queued runs created before', async () => {
      const a = (await service.runs.startRun({ contentImage: content, styleImages: [style] })).run;
      const b = (await service.runs.startRun({ contentImage: content, styleImages: [style] })).run;
      const pa = await service.runs.queuePosition(a.id);
      assert.equal(await service.runs.queuePosition(b.id), pa! + 1);
      await service.runs.cancelRun(a.id);
      assert.equal(await service.runs.queuePosition(a.id), null);
      assert.equal(await service.runs.queuePosition(b.id), pa);
    });

    test('runs are listed newest first, page by page', async () => {
      const all: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await service.runs.listRuns({ first: 2, after });
        all.push(...page.runs.map((r) => r.id));
        if (!page.hasMore) break;
        after = page.runs.at(-1)!.id;
      }
      const expected = (await service.db.prisma.run.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] })).map((r) => r.id);
      assert.deepEqual(all, expected);
      assert.ok(all.length >= 5);
    });

    test('deleting a run removes its rows and the images no other run uses', async () => {
      const own = await service.image(40);
      const { run } = await service.runs.startRun({ contentImage: own, styleImages: [style] });
      assert.equal(await service.runs.deleteRun(run.id), true);
      assert.equal(await service.runs.getRun(run.id), null);
      assert.equal(await service.db.prisma.runStyle.count({ where: { runId: run.id } }), 0);
      assert.equal(await service.db.prisma.image.count({ where: { sha256: own } }), 0, 'image only it used is gone');
      assert.equal(await service.db.prisma.image.count({ where: { sha256: style } }), 1, 'shared image stays');
      assert.equal(await service.runs.deleteRun(run.id), false);
    });
  });
}
