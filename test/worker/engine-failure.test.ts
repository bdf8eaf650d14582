import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveParams } from '../../src/engine/index.js';
import { EngineClient } from '../../src/worker/engine-client.js';
import { makePng } from '../helpers/images.js';
import { eventsUntilFinished, startTestService, TINY_PARAMS, type TestService } from '../helpers/service.js';

describe('an engine thread a job failed in', () => {
  test('a job too large for the WebAssembly heap fails at once with the largest size that fits, and the thread is not reused', async () => {
    const engine = await EngineClient.start(2);
    try {
      assert.equal(engine.backend, 'wasm');
      assert.ok(engine.speed.step.msPerPixel > 0, 'the thread measured its speed before it was ready');
      const png = await makePng(24, 24, 3);
      // Past the API's checks, straight to the engine: an 8192 px square needs far more than 4 GiB.
      const job = { content: png, styles: [png], params: resolveParams({ maxDim: 8192, epochs: 1, stepsPerEpoch: 1 }) };
      await assert.rejects(engine.run(job, { onEpoch: async () => undefined, onStep: async () => undefined }, new AbortController().signal),
        /too large for this server's WebAssembly memory \(4 GiB\); the largest that fits is about \d+ px/);
      assert.equal(engine.usable, false);
      assert.throws(() => engine.run(job, { onEpoch: async () => undefined, onStep: async () => undefined }, new AbortController().signal), /busy or unusable/);
    } finally {
      await engine.terminate();
    }
  });

  describe('in the worker', () => {
    let service: TestService;
    before(async () => {
      service = await startTestService('pglite');
    });
    after(() => service?.close());

    test('is replaced by a fresh one, readiness false meanwhile, and the next run succeeds', async () => {
      const content = await service.image(1);
      const style = await service.image(2);
      const broken = await service.image(3);
      // A fault the engine meets inside its thread: stored bytes that are no image (written past the API's checks).
      await service.db.prisma.imageChunk.updateMany({ where: { imageSha256: broken }, data: { data: new Uint8Array([1, 2, 3, 4]) } });
      const failing = await service.runs.startRun({ contentImage: broken, styleImages: [style], params: TINY_PARAMS });
      const states: string[] = [];
      const watch = setInterval(() => states.push(service.telemetry.engine.state), 5);
      try {
        await eventsUntilFinished(service, failing.run.id);
        assert.equal((await service.runs.getRun(failing.run.id))!.status, 'FAILED');
        const next = await service.runs.startRun({ contentImage: content, styleImages: [style], params: TINY_PARAMS });
        await eventsUntilFinished(service, next.run.id);
        const done = (await service.runs.getRun(next.run.id))!;
        assert.equal(done.status, 'SUCCEEDED', done.error ?? '');
      } finally {
        clearInterval(watch);
      }
      assert.ok(states.includes('replacing'), `engine states seen: ${[...new Set(states)]}`);
      assert.equal(states.at(-1), 'ready');
    });
  });
});
