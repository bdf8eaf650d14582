import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService } from '../helpers/service.js';

const PARAMS = { maxDim: 24, epochs: 1, stepsPerEpoch: 1 };

for (const kind of DATABASE_KINDS) {
  describe(`queue on ${kind}`, () => {
    for (const concurrency of [1, 2]) {
      test(`10 queued runs with concurrency ${concurrency} all finish, taken in order of creation`, async () => {
        const service = await startTestService(kind, { concurrency });
        try {
          const content = await service.image(1);
          const style = await service.image(2);
          const ids: string[] = [];
          const finished: Promise<unknown>[] = [];
          for (let i = 0; i < 10; i++) {
            const { run } = await service.runs.startRun({ contentImage: content, styleImages: [style], params: { ...PARAMS, seed: i } });
            ids.push(run.id);
            finished.push(eventsUntilFinished(service, run.id));
          }
          await Promise.all(finished);
          const runs = await Promise.all(ids.map(async (id) => (await service.runs.getRun(id))!));
          assert.deepEqual(runs.map((r) => r.status), ids.map(() => 'SUCCEEDED'));
          // Taken oldest first: with n slots, run i+n waits for one of the runs before it to finish.
          // (Runs taken together may start in either order: each slot first readies its engine.)
          for (let i = concurrency; i < runs.length; i++) {
            const slotFreed = Math.min(...runs.slice(0, i).map((r) => r.finishedAt!.getTime()).sort((a, b) => b - a).slice(concurrency - 1, concurrency));
            assert.ok(runs[i].startedAt!.getTime() >= slotFreed, `run ${i} started before a slot was free`);
            assert.ok(runs[i].startedAt! >= runs[i - concurrency].startedAt!, `run ${i} started before run ${i - concurrency}`);
          }
        } finally {
          await service.close();
        }
      });
    }
  });
}
