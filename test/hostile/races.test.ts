/**
 * Requests that race each other on the same rows, on both databases (PGlite
 * serialises everything and hides races; PostgreSQL's read committed does
 * not): never a 500, and each ends in a state its answer describes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { TINY_PARAMS } from '../helpers/service.js';
import { errorCodes, TestApi } from '../graphql/harness.js';

const START = 'mutation($i: StartRunInput!) { startRun(input: $i) { id contentImage { id } styleImages { id } } }';
const DELETE = 'mutation($id: ID!) { deleteRun(id: $id) }';
const ROUNDS = 10;

for (const kind of DATABASE_KINDS) {
  describe(`racing requests on ${kind}`, () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start(kind, { role: 'api' });
    });
    after(() => api?.close());

    test(`startRun on an image racing deleteRun of the only run using it: the run keeps it or is refused naming it (${ROUNDS} rounds)`, async () => {
      const outcomes = { kept: 0, refused: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        const content = await api.createImage(1000 + round);
        const style = await api.createImage(2000 + round);
        const input = { contentImageId: content, styleImageIds: [style], ...TINY_PARAMS };
        const first = await api.query<{ startRun: { id: string } }>(START, { i: input });
        const [started, deleted] = await Promise.all([api.request(START, { i: input }), api.request(DELETE, { id: first.startRun.id })]);

        assert.equal(deleted.status, 200, JSON.stringify(deleted));
        assert.equal(deleted.errors, undefined, `deleteRun: ${JSON.stringify(deleted.errors)}`);
        assert.equal(deleted.data.deleteRun, true);
        assert.equal(await api.service.db.prisma.run.count({ where: { id: first.startRun.id } }), 0, 'the deleted run is gone');

        if (started.errors) {
          assert.deepEqual(errorCodes(started.errors), [{ code: 'BAD_USER_INPUT', field: started.errors[0].extensions?.field }]);
          assert.match(String(started.errors[0].extensions?.field), /^(contentImageId|styleImageIds\[0\])$/);
          outcomes.refused++;
        } else {
          const run = started.data.startRun;
          assert.equal(run.contentImage.id, content);
          assert.deepEqual(run.styleImages.map((image: { id: string }) => image.id), [style]);
          const images = await api.service.db.prisma.image.count({ where: { sha256: { in: [content, style] } } });
          assert.equal(images, 2, 'a run that was started keeps its images');
          outcomes.kept++;
        }
      }
      assert.equal(outcomes.kept + outcomes.refused, ROUNDS);
    });
  });
}
