import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config.js';
import { makePng } from '../helpers/images.js';
import { TestApi } from './harness.js';

const run = promisify(execFile);

// The examples are documentation; this keeps them working against the real API.
describe('examples/', () => {
  let api: TestApi;
  let dir: string;
  before(async () => {
    api = await TestApi.start('pglite', { concurrency: 2 });
    dir = mkdtempSync(path.join(tmpdir(), 'stylegraph-examples-'));
    writeFileSync(path.join(dir, 'content.png'), await makePng(32, 32, 1));
    writeFileSync(path.join(dir, 'style.png'), await makePng(32, 32, 2));
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const example = (name: string, args: string[], env: Record<string, string> = {}) => run(
    process.execPath,
    [path.join(PROJECT_ROOT, 'examples', name), ...args],
    { env: { ...process.env, STYLEGRAPH_URL: api.server.url, ...env }, timeout: 120_000 },
  );

  test('sweep-style-weight.mjs prints one row per weight', async () => {
    const { stdout } = await example('sweep-style-weight.mjs', [path.join(dir, 'content.png'), path.join(dir, 'style.png'), '0.01', '1'],
      { MAX_DIM: '32', EPOCHS: '2', STEPS: '2' });
    assert.equal(stdout.match(/SUCCEEDED/g)?.length, 2, stdout);
    assert.match(stdout, /0\.01/);
  });

  test('follow-run.mjs prints every replayed event, each status as it was then', async () => {
    const { runs } = await api.query('{ runs(first: 1, status: SUCCEEDED) { edges { node { id } } } }');
    const { stdout } = await example('follow-run.mjs', [runs.edges[0].node.id]);
    assert.match(stdout, /^#1 QUEUED\n#2 RUNNING\n#3 epoch 1 .*\n#4 epoch 2 .*\n#5 SUCCEEDED\n$/, stdout);
  });
});
