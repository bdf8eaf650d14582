import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { TestApi } from '../graphql/harness';
import { stylegraph } from '../helpers/cli-process';
import { FAST_STYLE_MODELS, sharedImagePath } from '../helpers/shared-data';

describe('stylegraph stylize', () => {
  let dir: string;
  let content: string;
  let style: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stylegraph-cli-'));
    content = path.join(dir, 'content.png');
    style = path.join(dir, 'style.jpg');
    await sharp(sharedImagePath('tubingen.jpg')).resize(32, 32, { fit: 'inside' }).toFile(content);
    await sharp(sharedImagePath('the_scream.jpg')).resize(32, 32, { fit: 'inside' }).toFile(style);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints one JSON object per epoch and nothing else on stdout, and writes the PNG', async () => {
    const output = path.join(dir, 'out.png');
    const result = await stylegraph(['stylize', content, style, '-o', output, '--max-dim', '32', '--epochs', '3', '--steps-per-epoch', '2', '--json', '--save-every', '2']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((l) => [l.epoch, l.step]), [[1, 2], [2, 4], [3, 6]]);
    for (const line of lines) {
      for (const key of ['total', 'content', 'style', 'tv', 'ms']) assert.equal(typeof line[key], 'number', key);
      assert.ok(Math.abs(line.total - (line.content + line.style + line.tv)) <= 1e-4 * line.total);
    }
    assert.match(result.stderr, /backend wasm on CPU \(WebAssembly/);
    const written = await sharp(await readFile(output)).metadata();
    assert.deepEqual([written.format, written.width, written.height], ['png', 32, 24]);
    assert.equal((await sharp(path.join(dir, 'out-epoch2.png')).metadata()).width, 32);
  });

  it('paints in the fast modes with a preset\'s network, its painting the style', async () => {
    const env = { STYLEGRAPH_FAST_STYLE_MODELS: FAST_STYLE_MODELS };
    const fast = await stylegraph(['stylize', content, '--mode', 'fast', '--preset', 'wave', '-o', path.join(dir, 'fast.png'), '--max-dim', '32', '--json'], env);
    assert.equal(fast.code, 0, fast.stderr);
    const [epoch] = fast.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual([epoch.epoch, epoch.step, epoch.width, epoch.height], [1, 0, 32, 24]);
    assert.ok(epoch.style > 0, 'losses measured against the preset\'s painting');
    const then = await stylegraph(['stylize', content, '--mode', 'fast-then-optimize', '--preset', 'wave', '-o', path.join(dir, 'then.png'),
      '--max-dim', '32', '--epochs', '2', '--steps-per-epoch', '2', '--json'], env);
    assert.equal(then.code, 0, then.stderr);
    assert.deepEqual(then.stdout.trim().split('\n').map((line) => JSON.parse(line).step), [2, 4]);
    assert.deepEqual((await sharp(await readFile(path.join(dir, 'then.png'))).metadata()).width, 32);
    const unknown = await stylegraph(['stylize', content, '--mode', 'fast', '--preset', 'nope', '-o', path.join(dir, 'x.png')], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--preset: no fast-style network "nope" in .*; there are: .*wave/);
    const withStyle = await stylegraph(['stylize', content, style, '--mode', 'fast', '--preset', 'wave', '-o', path.join(dir, 'x.png')], env);
    assert.equal(withStyle.code, 2);
    assert.match(withStyle.stderr, /style images are left out in --mode fast/);
  });

  it('names the flag of a bad parameter and exits 2 without running', async () => {
    const result = await stylegraph(['stylize', content, style, '-o', path.join(dir, 'x.png'), '--epochs', '0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--epochs: must be at least 1/);
    const notNumber = await stylegraph(['stylize', content, style, '-o', path.join(dir, 'x.png'), '--lr', 'fast']);
    assert.equal(notNumber.code, 2);
    assert.match(notNumber.stderr, /--lr: "fast" is not a number/);
  });

  it('says which file is not an image', async () => {
    const bogus = path.join(dir, 'notes.png');
    await writeFile(bogus, 'not an image at all');
    const result = await stylegraph(['stylize', bogus, style, '-o', path.join(dir, 'x.png')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /notes\.png: .*not an image/i);
  });

  it('says how to get the weights when there are none', async () => {
    const result = await stylegraph(['stylize', content, style, '-o', path.join(dir, 'x.png')], {
      STYLEGRAPH_VGG19: '', STYLEGRAPH_CACHE_DIR: path.join(dir, 'empty-cache'),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /stylegraph weights fetch/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  describe('--server', () => {
    let api: TestApi;
    before(async () => {
      api = await TestApi.start('pglite');
    });
    after(() => api?.close());

    it('runs on the server and reports its epochs the same way', async () => {
      const output = path.join(dir, 'remote.png');
      const result = await stylegraph(['run', content, style, '-o', output, '--server', api.server.url,
        '--max-dim', '32', '--epochs', '2', '--steps-per-epoch', '2', '--init', 'noise', '--seed', '3', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(lines.map((l) => [l.epoch, l.step]), [[1, 2], [2, 4]]);
      assert.match(result.stderr, /stylegraph: run [0-9a-f-]{36} on http:\/\/127\.0\.0\.1/);
      const runs = await api.query('{ runs(first: 5) { edges { node { status params { init seed maxDim } epochs { totalLoss } } } } }');
      const [run] = runs.runs.edges.map((e: { node: unknown }) => e.node);
      assert.deepEqual([run.status, run.params], ['SUCCEEDED', { init: 'NOISE', seed: 3, maxDim: 32 }]);
      assert.equal(lines[1].total, run.epochs[1].totalLoss);
      const written = await sharp(await readFile(output)).metadata();
      assert.deepEqual([written.width, written.height], [32, 24]);
    });

    it("names the flag when the server refuses a parameter", async () => {
      const result = await stylegraph(['stylize', content, style, '-o', path.join(dir, 'x.png'), '--server', api.server.url, '--max-dim', '4000']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--max-dim: /);
    });
  });
});
