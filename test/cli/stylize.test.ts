import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { TestApi } from '../graphql/harness';
import { locateVideoTools, runTool } from '../../src/images/video-tools';
import { stylegraph } from '../helpers/cli-process';
import { makeAnimation, makeVideo } from '../helpers/images';
import { FAST_STYLE_MODELS, sharedImagePath } from '../helpers/shared-data';

/** The JSON object of each epoch a command printed. */
const epochLines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line));

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

  it('paints an animated GIF frame by frame, each held to the one before, into a GIF timed as its content', async () => {
    const gif = path.join(dir, 'square.gif');
    await writeFile(gif, await makeAnimation('gif', 32, 32, [100, 200, 100]));
    const refused = await stylegraph(['stylize', gif, style, '-o', path.join(dir, 'square.png')]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^stylegraph stylize: --output: the content has 3 frames \(image\/gif\), and so will the result: name it \*\.gif$/m);
    const output = path.join(dir, 'square-painted.gif');
    const result = await stylegraph(['stylize', gif, style, '-o', output, '--max-dim', '32', '--epochs', '2', '--steps-per-epoch', '2', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const lines = epochLines(result.stdout);
    assert.deepEqual(lines.map((l) => [l.epoch, l.frame, l.frames, l.step]), [[1, 1, 3, 2], [2, 1, 3, 4], [3, 2, 3, 6], [4, 2, 3, 8], [5, 3, 3, 10], [6, 3, 3, 12]]);
    assert.deepEqual(lines.map((l) => l.temporal > 0), [false, false, true, true, true, true], 'the first frame has no frame before it');
    for (const l of lines) assert.ok(Math.abs(l.total - (l.content + l.style + l.tv + l.temporal)) <= 1e-4 * l.total);
    const written = await sharp(await readFile(output), { animated: true }).metadata();
    assert.deepEqual([written.format, written.width, written.pageHeight, written.pages, written.delay], ['gif', 32, 32, 3, [100, 200, 100]]);
    const alone = await stylegraph(['stylize', gif, style, '-o', path.join(dir, 'alone.gif'), '--max-dim', '32', '--epochs', '1', '--steps-per-epoch', '2', '--temporal-weight', '0']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stderr, /^frame 3\/3 {2}epoch 3\/3 {2}step 6 {2}total .* temporal 0\.000e\+0 /m);
    assert.match(alone.stderr, /stylegraph: wrote .*alone\.gif \(3 frames, flicker \d+\.\d\d\)$/m);
  });

  it('refuses a still GIF as the server does, naming the file', async () => {
    const still = path.join(dir, 'still.gif');
    await writeFile(still, await makeAnimation('gif', 32, 32, [100]));
    const result = await stylegraph(['stylize', still, style, '-o', path.join(dir, 'x.gif')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /still\.gif: is a GIF image; runs paint still PNG, JPEG or WebP images, and animations/);
  });

  it('paints a video in a fast mode into a video of the same kind, with its sound', { skip: locateVideoTools() ? false : 'no ffmpeg here' }, async () => {
    const video = path.join(dir, 'square.webm');
    await writeFile(video, await makeVideo('webm', 32, 32, 3, 8, { audio: true }));
    const output = path.join(dir, 'square-painted.webm');
    const result = await stylegraph(['stylize', video, '--mode', 'fast', '--preset', 'wave', '-o', output, '--max-dim', '32', '--json'], { STYLEGRAPH_FAST_STYLE_MODELS: FAST_STYLE_MODELS });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(epochLines(result.stdout).map((l) => [l.epoch, l.frame, l.step]), [[1, 1, 0], [2, 2, 0], [3, 3, 0]]);
    const { stdout } = await runTool(locateVideoTools()!.ffprobe, ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,nb_read_frames', '-of', 'compact=p=0:nk=1', output],
      { maxStdoutBytes: 1 << 16, timeoutMs: 300_000 });
    const [painted, audio] = stdout.toString().trim().split('\n');
    assert.equal(painted, 'vp9|video|3');
    assert.match(audio, /^opus\|audio\|\d+$/, 'the sound is kept');
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

    it('runs an animation on the server and writes its result, an animation of the same kind', async () => {
      const webp = path.join(dir, 'square.webp');
      await writeFile(webp, await makeAnimation('webp', 32, 32, [100, 100, 300]));
      const output = path.join(dir, 'remote.webp');
      const result = await stylegraph(['run', webp, style, '-o', output, '--server', api.server.url, '--max-dim', '32', '--epochs', '1', '--steps-per-epoch', '2']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stderr.split('\n').flatMap((line) => /^frame (\d)\/3 {2}epoch (\d)\/3 {2}step (\d)/.exec(line)?.slice(1) ?? []).map(Number), [1, 1, 2, 2, 2, 4, 3, 3, 6]);
      const runs = await api.query('{ runs(first: 1) { edges { node { flicker } } } }');
      const [{ node: run }] = runs.runs.edges;
      assert.match(result.stderr, new RegExp(`stylegraph: wrote .*remote\\.webp \\(3 frames, flicker ${run.flicker.toFixed(2)}\\)$`, 'm'));
      const written = await sharp(await readFile(output), { animated: true }).metadata();
      assert.deepEqual([written.format, written.pages, written.delay], ['webp', 3, [100, 100, 300]]);
      const refused = await stylegraph(['run', webp, style, '-o', path.join(dir, 'remote.gif'), '--server', api.server.url]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--output: the content has 3 frames \(image\/webp\), and so will the result: name it \*\.webp/);
      assert.equal((await api.query('{ runs(first: 5) { edges { node { id } } } }')).runs.edges.length, 2, 'the refused command started no run');
    });

    it("names the flag when the server refuses a parameter", async () => {
      const result = await stylegraph(['stylize', content, style, '-o', path.join(dir, 'x.png'), '--server', api.server.url, '--max-dim', '4000']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--max-dim: /);
    });
  });
});
