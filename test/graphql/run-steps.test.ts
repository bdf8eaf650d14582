import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { TestApi } from './harness.js';
import { assertStepStream, STEP_EVENTS, STEPPED_RUN, type SteppedEvent } from '../helpers/step-stream.js';

async function eventsOf(api: TestApi, runId: string, steps?: boolean): Promise<SteppedEvent[]> {
  const results = await api.subscribe<{ runEvents: SteppedEvent }>(STEP_EVENTS, { runId, steps });
  for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return results.map((result) => result.data!.runEvents);
}

for (const kind of DATABASE_KINDS) {
  describe(`STEP events on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind);
    });
    after(() => api?.close());

    test('a subscriber that asks for steps gets them live between the epochs; one that does not, and a late one, get none', async () => {
      const [content, style] = [await api.createImage(1), await api.createImage(2)];
      const { startRun } = await api.query('mutation($input: StartRunInput!) { startRun(input: $input) { id } }', {
        input: { contentImageId: content, styleImageIds: [style], ...STEPPED_RUN },
      });
      const [stepped, plain] = await Promise.all([eventsOf(api, startRun.id, true), eventsOf(api, startRun.id)]);

      assertStepStream(stepped);
      const numbered = stepped.filter((e) => e.kind !== 'STEP');
      assert.deepEqual(plain.map((e) => [e.kind, e.sequence]), numbered.map((e) => [e.kind, e.sequence]), 'without `steps`, the events as before');
      // Replayed: the numbered events once more, and no step, asked for or not.
      const late = await eventsOf(api, startRun.id, true);
      assert.deepEqual(late.map((e) => [e.kind, e.sequence]), numbered.map((e) => [e.kind, e.sequence]));
    });
  });
}
