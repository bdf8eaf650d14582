import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RunLifecycle } from '../../src/runs/lifecycle.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { startTestService, TINY_PARAMS, type TestService } from '../helpers/service.js';

for (const kind of DATABASE_KINDS) {
  describe(`run state machine on ${kind}`, () => {
    let service: TestService;
    let lifecycle: RunLifecycle;
    let image: string;
    before(async () => {
      service = await startTestService(kind, { role: 'api' });
      lifecycle = new RunLifecycle(service.db.prisma, service.runs.events);
      image = await service.image(1);
    });
    after(() => service?.close());

    const newRun = async () => (await service.runs.startRun({ contentImage: image, styleImages: [image], params: TINY_PARAMS })).run.id;

    test('only QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELED and QUEUED -> CANCELED', async () => {
      const id = await newRun();
      assert.equal(await lifecycle.succeed(id, image), null, 'QUEUED cannot succeed');
      assert.equal(await lifecycle.fail(id, 'x'), null, 'QUEUED cannot fail');
      assert.equal((await lifecycle.start(id, { backend: 'cpu', device: 'test' }))?.status, 'RUNNING');
      assert.equal(await lifecycle.start(id, { backend: 'cpu', device: 'test' }), null, 'RUNNING cannot start again');
      assert.equal((await lifecycle.fail(id, 'boom'))?.error, 'boom');
      for (const attempt of [lifecycle.succeed(id, image), lifecycle.cancel(id), lifecycle.start(id, null)]) {
        assert.equal(await attempt, null, 'FAILED is final');
      }
    });

    test('of racing writers exactly one wins', async () => {
      const id = await newRun();
      await lifecycle.start(id, null);
      const results = await Promise.all([lifecycle.succeed(id, image), lifecycle.cancel(id), lifecycle.fail(id, 'x'), lifecycle.cancel(id)]);
      assert.equal(results.filter(Boolean).length, 1);
      const run = (await service.runs.getRun(id))!;
      assert.equal(run.eventSeq, 3, 'created, started, one end');
    });
  });
}
