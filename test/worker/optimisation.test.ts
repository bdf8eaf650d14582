import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService, TINY_PARAMS, type TestService } from '../helpers/service.js';

for (const kind of DATABASE_KINDS) {
  describe(`optimisation worker on ${kind}`, () => {
    let service: TestService;
    let content: string;
    let style: string;
    before(async () => {
      service = await startTestService(kind);
      content = await service.image(1);
      style = await service.image(2);
    });
    after(() => service?.close());

    test('a run goes QUEUED -> RUNNING -> SUCCEEDED with every epoch stored once, in order', async () => {
      const { run } = await service.runs.startRun({ contentImage: content, styleImages: [style], params: TINY_PARAMS });
      const events = await eventsUntilFinished(service, run.id);
      const done = (await service.runs.getRun(run.id))!;
      assert.equal(done.status, 'SUCCEEDED', done.error ?? '');
      assert.ok(done.backend && done.device && done.startedAt && done.finishedAt);
      assert.equal(done.currentEpoch, 3);
      const epochs = await service.runs.listEpochs(run.id);
      assert.deepEqual(epochs.map((e) => [e.epoch, e.step]), [[1, 2], [2, 4], [3, 6]]);
      assert.equal(done.resultImage, epochs[2].previewImage, 'the final image is the last epoch\'s image');
      const result = await service.db.prisma.image.findUniqueOrThrow({ where: { sha256: done.resultImage! } });
      assert.equal(result.mimeType, 'image/png');
      assert.deepEqual([result.width, result.height], [24, 24]);
      // Events: numbered one by one; epochs published with the numbers they are stored with.
      const seqs = events.map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i));
      assert.equal(seqs.at(-1), done.eventSeq);
      const published = events.flatMap((e) => e.type === 'epoch' ? [e.epoch] : []);
      assert.deepEqual(published, epochs.slice(3 - published.length));
      // A finished run never resumes: its checkpoint went with the final status.
      assert.equal(await service.db.prisma.runCheckpoint.count({ where: { runId: run.id } }), 0);
    });

    test('cancel while running stops the run within a step', async () => {
      const { run } = await service.runs.startRun({
        contentImage: content, styleImages: [style], params: { ...TINY_PARAMS, epochs: 50 },
      });
      const finished = eventsUntilFinished(service, run.id);
      await new Promise<void>((resolve) => {
        const unsubscribe = service.runs.events.subscribe(run.id, (e) => {
          if (e.type === 'epoch') { unsubscribe(); resolve(); }
        });
      });
      const canceled = await service.runs.cancelRun(run.id);
      assert.equal(canceled?.status, 'CANCELED');
      await finished;
      // The worker lets go: the next run starts and finishes.
      const next = (await service.runs.startRun({ contentImage: content, styleImages: [style], params: TINY_PARAMS })).run;
      await eventsUntilFinished(service, next.id);
      const epochs = await service.runs.listEpochs(run.id);
      assert.ok(epochs.length < 50, `stopped after ${epochs.length} epochs`);
      assert.equal((await service.runs.getRun(run.id))!.status, 'CANCELED');
      assert.equal((await service.runs.getRun(next.id))!.status, 'SUCCEEDED');
    });

    test('a run whose engine throws becomes FAILED with the reason', async () => {
      // Bytes that claim to be a PNG but are not: the engine refuses to decode them.
      const { storeImage } = await import('../../src/storage/images.js');
      const broken = await storeImage(service.db.prisma, Buffer.from('not an image at all'), { mimeType: 'image/png', width: 24, height: 24 });
      const { run } = await service.runs.startRun({ contentImage: broken.sha256, styleImages: [style], params: TINY_PARAMS });
      await eventsUntilFinished(service, run.id);
      const failed = (await service.runs.getRun(run.id))!;
      assert.equal(failed.status, 'FAILED');
      assert.ok(failed.error && failed.error.length > 0);
      assert.equal(failed.resultImage, null);
    });
  });
}
