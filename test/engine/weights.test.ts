import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { weightsCommand } from '../../src/cli/weights';
import { VGG19_CONV_LAYERS } from '../../src/engine/params';
import {
  cacheDir, ChecksumMismatchError, fetchVgg19Weights, KERAS_VGG19_FILENAME, loadVgg19Weights, locateVgg19,
  readKerasH5Weights, readLayersModelWeights, WeightsFormatError, WeightsNotFoundError, type Vgg19Weights,
} from '../../src/engine/weights';
import { REAL_VGG19_BLOCK_CHANNELS, vgg19ConvFixture, type ConvLayerFixture } from '../helpers/conv-layer-fixtures';
import { startTestServer, type TestServer } from '../helpers/http-test-server';
import { writeKerasH5Fixture } from '../helpers/keras-h5-fixture';
import { writeLayersModelFixture, type StoredWeight } from '../helpers/layers-model-fixture';
import { VGG19_PATH } from '../helpers/shared-data';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'stylegraph-weights-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let dirCount = 0;
async function freshDir(): Promise<string> {
  const dir = path.join(scratch, `case${++dirCount}`);
  await mkdir(dir);
  return dir;
}

/** Asserts that `weights` holds exactly `expected`, value for value, in network order. */
function assertSameWeights(weights: Vgg19Weights, expected: ConvLayerFixture[]) {
  assert.deepEqual([...weights.keys()], expected.map((layer) => layer.name));
  for (const layer of expected) {
    const actual = weights.get(layer.name)!;
    assert.deepEqual(actual.kernelShape, layer.kernelShape, `${layer.name} kernel shape`);
    assert.deepEqual(actual.kernel, layer.kernel, `${layer.name} kernel`);
    assert.deepEqual(actual.bias, layer.bias, `${layer.name} bias`);
  }
}

function asFloat32Weights(layers: ConvLayerFixture[]): StoredWeight[] {
  return layers.flatMap((layer) => [
    { name: `${layer.name}/kernel`, shape: layer.kernelShape, values: layer.kernel },
    { name: `${layer.name}/bias`, shape: [layer.bias.length], values: layer.bias },
  ]);
}

/** Runs `body` with some environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

describe('readLayersModelWeights on the shared VGG19 (uint8-quantized)', () => {
  let weights: Vgg19Weights;
  let manifest: { paths: string[]; weights: { name: string; shape: number[]; quantization: { scale: number; min: number } }[] };

  before(async () => {
    weights = await readLayersModelWeights(VGG19_PATH);
    manifest = JSON.parse(await readFile(path.join(VGG19_PATH, 'model.json'), 'utf8')).weightsManifest[0];
  });

  it('has all 16 conv layers with the real shapes', () => {
    assert.deepEqual([...weights.keys()], [...VGG19_CONV_LAYERS]);
    const expectedOut = (name: string) => REAL_VGG19_BLOCK_CHANNELS[Number(name[5]) - 1];
    let inChannels = 3;
    for (const name of VGG19_CONV_LAYERS) {
      const layer = weights.get(name)!;
      assert.deepEqual(layer.kernelShape, [3, 3, inChannels, expectedOut(name)], name);
      assert.equal(layer.kernel.length, 9 * inChannels * expectedOut(name), `${name} kernel length`);
      assert.equal(layer.bias.length, expectedOut(name), `${name} bias length`);
      inChannels = expectedOut(name);
    }
    assert.deepEqual(weights.get('block1_conv1')!.kernelShape, [3, 3, 3, 64]);
    assert.deepEqual(weights.get('block5_conv4')!.kernelShape, [3, 3, 512, 512]);
  });

  it('dequantizes as q * scale + min from the raw shard bytes', async () => {
    // Byte offsets worked out here from the manifest: one byte per value, tensors back to back.
    const shards = await Promise.all(manifest.paths.map((shard) => readFile(path.join(VGG19_PATH, shard))));
    const stream = Buffer.concat(shards);
    const offsets = new Map<string, number>();
    let offset = 0;
    for (const spec of manifest.weights) {
      offsets.set(spec.name, offset);
      offset += spec.shape.reduce((a, b) => a * b, 1);
    }
    assert.equal(offset, stream.length, 'the manifest accounts for every shard byte');

    const expected = (name: string, index: number) => {
      const { scale, min } = manifest.weights.find((spec) => spec.name === name)!.quantization;
      return Math.fround(stream[offsets.get(name)! + index] * scale + min);
    };
    const samples: [string, 'kernel' | 'bias', number][] = [
      ['block1_conv1', 'kernel', 0],
      ['block1_conv1', 'kernel', 1000],
      ['block2_conv1', 'kernel', 12345],
      ['block4_conv3', 'bias', 77],
      ['block5_conv4', 'bias', 511], // the very last byte of the last shard
    ];
    for (const [layer, part, index] of samples) {
      const actual = weights.get(layer)![part][index];
      assert.equal(actual, expected(`${layer}/${part}`, index), `${layer} ${part}[${index}]`);
    }
    assert.equal(shards.at(-1)!.at(-1), stream[offsets.get('block5_conv4/bias')! + 511]);
  });

  it('reads only the layers asked for', async () => {
    const some = await readLayersModelWeights(VGG19_PATH, ['block5_conv2', 'block1_conv1']);
    assert.deepEqual([...some.keys()], ['block1_conv1', 'block5_conv2']);
    assert.deepEqual(some.get('block5_conv2')!.kernel, weights.get('block5_conv2')!.kernel);
  });
});

describe('readLayersModelWeights on generated models', () => {
  it('reads float32 weights exactly, even with tensors cut across shards', async () => {
    const layers = vgg19ConvFixture();
    const dir = await freshDir();
    await writeLayersModelFixture(dir, asFloat32Weights(layers), 7);
    assert.ok((await readdir(dir)).length > 100, 'many shards');
    assertSameWeights(await readLayersModelWeights(dir), layers);
  });

  it('dequantizes uint8 and uint16 weights, whatever their byte alignment', async () => {
    // 27 one-byte values put the uint16 bias at an odd offset.
    const kernelQ = Uint8Array.from({ length: 27 }, (_, i) => i * 9);
    const biasQ = Uint16Array.from([0, 1, 65535]);
    const dir = await freshDir();
    await writeLayersModelFixture(dir, [
      { name: 'block1_conv1/kernel', shape: [3, 3, 3, 1], quantization: 'uint8', quantized: kernelQ, scale: 0.5, min: -2 },
      { name: 'block1_conv1/bias', shape: [1], quantization: 'uint16', quantized: biasQ.subarray(2), scale: 0.25, min: -1 },
    ], 5);
    const weights = await readLayersModelWeights(dir, ['block1_conv1']);
    const layer = weights.get('block1_conv1')!;
    assert.deepEqual([...layer.kernel], [...kernelQ].map((q) => q * 0.5 - 2));
    assert.deepEqual([...layer.bias], [65535 * 0.25 - 1]);
  });

  it('names a missing layer', async () => {
    const dir = await freshDir();
    await writeLayersModelFixture(dir, asFloat32Weights(vgg19ConvFixture(3)));
    await assert.rejects(readLayersModelWeights(dir), (error: Error) => {
      assert.ok(error instanceof WeightsFormatError);
      assert.match(error.message, /no weight named "block2_conv2\/kernel"/);
      assert.ok(error.message.startsWith(path.join(dir, 'model.json')));
      return true;
    });
    assert.equal((await readLayersModelWeights(dir, VGG19_CONV_LAYERS.slice(0, 3))).size, 3);
  });

  it('refuses wrong shapes, broken channel chains and short shards', async () => {
    const [first, second] = vgg19ConvFixture(2);
    const write = async (weights: StoredWeight[]) => {
      const dir = await freshDir();
      await writeLayersModelFixture(dir, weights);
      return dir;
    };
    const notRgb = await write([
      { name: 'block1_conv1/kernel', shape: [3, 3, 2, 2], values: first.kernel.subarray(0, 36) },
      ...asFloat32Weights([first]).slice(1),
    ]);
    await assert.rejects(readLayersModelWeights(notRgb, ['block1_conv1']), /block1_conv1 takes 2 input channels; expected 3/);

    const not3x3 = await write([{ name: 'block1_conv1/kernel', shape: [1, 1, 3, 2], values: first.kernel.subarray(0, 6) }, ...asFloat32Weights([first]).slice(1)]);
    await assert.rejects(readLayersModelWeights(not3x3, ['block1_conv1']), /block1_conv1 kernel has shape \[1,1,3,2\]; expected \[3, 3, in, out\]/);

    const wrongBias = await write([asFloat32Weights([first])[0], { name: 'block1_conv1/bias', shape: [1], values: new Float32Array(1) }]);
    await assert.rejects(readLayersModelWeights(wrongBias, ['block1_conv1']), /block1_conv1 bias has shape \[1\].*expected \[2\]/);

    const mismatched = { ...second, kernelShape: [3, 3, 1, 2] as ConvLayerFixture['kernelShape'], kernel: second.kernel.subarray(0, 18) };
    const chain = await write(asFloat32Weights([first, mismatched]));
    await assert.rejects(readLayersModelWeights(chain, ['block1_conv1', 'block1_conv2']), /block1_conv2 takes 1 input channels but block1_conv1 gives 2/);

    const short = await write(asFloat32Weights([first]));
    const shard = path.join(short, 'group1-shard1of1.bin');
    await writeFile(shard, (await readFile(shard)).subarray(0, 100));
    await assert.rejects(readLayersModelWeights(short, ['block1_conv1']), /end at byte 100, before weight "block1_conv1\/kernel"/);

    await assert.rejects(readLayersModelWeights(await freshDir()), /model\.json: cannot read the layers model/);
    await assert.rejects(readLayersModelWeights(short, ['block9_conv1']), /"block9_conv1" is not a VGG19 conv layer/);
  });
});

describe('readKerasH5Weights on generated Keras files', () => {
  it('reads a few layers in the official layout exactly', async () => {
    const layers = vgg19ConvFixture(3);
    const file = path.join(await freshDir(), 'few.h5');
    await writeKerasH5Fixture(file, layers);
    assertSameWeights(await readKerasH5Weights(file, layers.map((layer) => layer.name)), layers);
  });

  it('reads all 16 layers (tiny channels) exactly', async () => {
    const layers = vgg19ConvFixture();
    const file = path.join(await freshDir(), KERAS_VGG19_FILENAME);
    await writeKerasH5Fixture(file, layers);
    assertSameWeights(await readKerasH5Weights(file), layers);
  });

  it('also reads the later Keras layout (variable-length strings, nested weight names)', async () => {
    const layers = vgg19ConvFixture();
    const file = path.join(await freshDir(), 'modern.h5');
    await writeKerasH5Fixture(file, layers, 'keras2');
    assertSameWeights(await readKerasH5Weights(file), layers);
  });

  it('names what is missing or wrong, and closes the file either way', async () => {
    const file = path.join(await freshDir(), 'partial.h5');
    await writeKerasH5Fixture(file, vgg19ConvFixture(3));
    await assert.rejects(readKerasH5Weights(file), (error: Error) => {
      assert.ok(error instanceof WeightsFormatError);
      assert.match(error.message, /layer block2_conv2 is not in layer_names \(block1_conv1, block1_conv2, block1_pool, block2_conv1, block2_pool\)/);
      return true;
    });
    // HDF5 refuses to open a file read-write while a read-only handle to it is still open.
    const { default: h5wasm } = await import('h5wasm/node');
    const reopened = new h5wasm.File(file, 'a');
    assert.ok(reopened.file_id >= 0n, 'the reader left the file open');
    reopened.close();

    const text = path.join(path.dirname(file), 'text.h5');
    await writeFile(text, 'not hdf5 at all');
    await assert.rejects(readKerasH5Weights(text), /text\.h5: not an HDF5 file/);
    await assert.rejects(readKerasH5Weights(path.join(path.dirname(file), 'absent.h5')), /absent\.h5: cannot read the Keras weights file/);
  });
});

describe('loadVgg19Weights', () => {
  it('reads each kind of source, by default the one locateVgg19 finds', async () => {
    const layers = vgg19ConvFixture();
    const dir = await freshDir();
    const h5 = path.join(dir, 'weights.h5');
    await writeKerasH5Fixture(h5, layers);
    const modelDir = path.join(dir, 'tfjs');
    await writeLayersModelFixture(modelDir, asFloat32Weights(layers));

    assertSameWeights(await loadVgg19Weights({ kind: 'keras-h5', path: h5 }), layers);
    assertSameWeights(await loadVgg19Weights({ kind: 'layers-model', path: modelDir }), layers);
    await withEnv({ STYLEGRAPH_VGG19: h5 }, async () => assertSameWeights(await loadVgg19Weights(), layers));
    const some = await loadVgg19Weights({ kind: 'keras-h5', path: h5 }, ['block3_conv1']);
    assert.deepEqual([...some.keys()], ['block3_conv1']);
  });
});

describe('locateVgg19 and cacheDir', () => {
  it('finds the cache directory from the environment', () => {
    assert.equal(cacheDir({ STYLEGRAPH_CACHE_DIR: '/c/sg', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c/sg');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/stylegraph');
    assert.equal(cacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }), '/h/.cache/stylegraph');
    assert.equal(cacheDir({ HOME: '/h' }), '/h/.cache/stylegraph');
  });

  it('prefers STYLEGRAPH_VGG19: a layers-model directory, its model.json, or an .h5 file', async () => {
    const dir = await freshDir();
    await writeFile(path.join(dir, 'model.json'), '{}');
    const h5 = path.join(dir, 'vgg.h5');
    await writeFile(h5, '');
    const cache = await freshDir();
    await writeFile(path.join(cache, KERAS_VGG19_FILENAME), '');
    assert.deepEqual(locateVgg19({ STYLEGRAPH_VGG19: dir, STYLEGRAPH_CACHE_DIR: cache }), { kind: 'layers-model', path: dir });
    assert.deepEqual(locateVgg19({ STYLEGRAPH_VGG19: path.join(dir, 'model.json') }), { kind: 'layers-model', path: dir });
    assert.deepEqual(locateVgg19({ STYLEGRAPH_VGG19: h5 }), { kind: 'keras-h5', path: h5 });
    assert.deepEqual(locateVgg19({ STYLEGRAPH_CACHE_DIR: cache }), { kind: 'keras-h5', path: path.join(cache, KERAS_VGG19_FILENAME) });
  });

  it('says where it looked and how to get the weights', async () => {
    const cache = await freshDir();
    assert.throws(() => locateVgg19({ STYLEGRAPH_CACHE_DIR: cache }), (error: Error) => {
      assert.ok(error instanceof WeightsNotFoundError);
      assert.ok(error.message.includes(path.join(cache, KERAS_VGG19_FILENAME)), error.message);
      assert.match(error.message, /stylegraph weights fetch/);
      assert.match(error.message, /STYLEGRAPH_VGG19/);
      return true;
    });
    assert.throws(() => locateVgg19({ STYLEGRAPH_VGG19: path.join(cache, 'nowhere') }), /STYLEGRAPH_VGG19 is .*nowhere, which does not exist/);
    assert.throws(() => locateVgg19({ STYLEGRAPH_VGG19: cache }), /has no model\.json/);
  });
});

describe('fetchVgg19Weights', () => {
  const file = Buffer.from(Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
  const sha256 = createHash('sha256').update(file).digest('hex');
  const md5 = createHash('md5').update(file).digest('hex');
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      '/vgg.h5': { body: file },
      '/moved.h5': { redirectTo: '/vgg.h5' },
      '/chunked.h5': { body: file, chunked: true },
      '/cut.h5': { body: file, cutAfter: 100_000 },
    });
  });
  after(() => server.close());

  it('downloads, reports progress, checks the SHA-256 and leaves only the file', async () => {
    const dest = path.join(await freshDir(), 'cache');
    const progress: [number, number | null][] = [];
    const result = await fetchVgg19Weights({
      url: server.url('/vgg.h5'), sha256, dest, onProgress: (received, total) => progress.push([received, total]),
    });
    const saved = path.join(dest, KERAS_VGG19_FILENAME);
    assert.deepEqual(result, { path: saved, downloaded: true, bytes: file.length, sha256, verifiedWith: 'sha256' });
    assert.deepEqual(await readFile(saved), file);
    assert.deepEqual(await readdir(dest), [KERAS_VGG19_FILENAME]);
    assert.ok(progress.length > 1, `${progress.length} progress reports`);
    assert.ok(progress.every(([received, total], i) => total === file.length && received > (progress[i - 1]?.[0] ?? 0)));
    assert.deepEqual(progress.at(-1), [file.length, file.length]);

    const hitsBefore = server.hits('/vgg.h5');
    const again = await fetchVgg19Weights({ url: server.url('/vgg.h5'), sha256, dest });
    assert.equal(again.downloaded, false);
    assert.equal(server.hits('/vgg.h5'), hitsBefore, 'no second download');
  });

  it('replaces a file with the wrong content, follows redirects, checks an MD5 when no SHA-256 is given', async () => {
    const dest = await freshDir();
    await writeFile(path.join(dest, KERAS_VGG19_FILENAME), 'stale');
    const result = await fetchVgg19Weights({ url: server.url('/moved.h5'), sha256: null, md5, dest });
    assert.equal(result.downloaded, true);
    assert.equal(result.verifiedWith, 'md5');
    assert.equal(result.sha256, sha256);
    assert.deepEqual(await readFile(result.path), file);
  });

  it('reports an unknown total when the server sends no length', async () => {
    const totals = new Set<number | null>();
    await fetchVgg19Weights({ url: server.url('/chunked.h5'), sha256, dest: await freshDir(), onProgress: (_, total) => totals.add(total) });
    assert.deepEqual([...totals], [null]);
  });

  it('discards a download with the wrong hash, naming both hashes', async () => {
    const dest = await freshDir();
    const wrong = 'ab'.repeat(32);
    await assert.rejects(fetchVgg19Weights({ url: server.url('/vgg.h5'), sha256: wrong, dest }), (error: Error) => {
      assert.ok(error instanceof ChecksumMismatchError);
      assert.ok(error.message.includes(wrong) && error.message.includes(sha256), error.message);
      return true;
    });
    assert.deepEqual(await readdir(dest), []);
  });

  it('fails clearly on 404, on a dropped connection, on a cancel, and on a malformed hash', async () => {
    const dest = await freshDir();
    await assert.rejects(fetchVgg19Weights({ url: server.url('/missing.h5'), sha256, dest }), /Could not download http:\/\/127\.0\.0\.1:\d+\/missing\.h5: HTTP 404/);
    await assert.rejects(fetchVgg19Weights({ url: server.url('/cut.h5'), sha256, dest }));
    const cancel = new AbortController();
    await assert.rejects(
      fetchVgg19Weights({ url: server.url('/vgg.h5'), sha256, dest, signal: cancel.signal, onProgress: () => cancel.abort() }),
      { name: 'AbortError' },
    );
    assert.deepEqual(await readdir(dest), []);
    await assert.rejects(fetchVgg19Weights({ url: server.url('/vgg.h5'), sha256: 'xyz', dest }), /sha256 must be 64 hexadecimal digits/);
  });
});

describe('stylegraph weights', () => {
  /** Runs the command with console output captured. */
  async function run(t: TestContext, args: string[]) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    t.mock.method(console, 'log', (...parts: unknown[]) => stdout.push(parts.join(' ')));
    t.mock.method(console, 'error', (...parts: unknown[]) => stderr.push(parts.join(' ')));
    const code = await weightsCommand(args);
    t.mock.restoreAll();
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
  }

  it('where: prints the source, or the not-found message with exit code 1', async (t) => {
    const dir = await freshDir();
    await writeFile(path.join(dir, 'model.json'), '{}');
    const found = await withEnv({ STYLEGRAPH_VGG19: dir }, () => run(t, ['where']));
    assert.deepEqual(found, { code: 0, stdout: `layers-model ${dir}`, stderr: '' });

    const empty = await freshDir();
    const missing = await withEnv({ STYLEGRAPH_VGG19: undefined, STYLEGRAPH_CACHE_DIR: empty }, () => run(t, ['where']));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /VGG19 weights not found.*stylegraph weights fetch/);
  });

  it('fetch: downloads to --dest, prints the path, and a plain line when stderr is not a terminal', async (t) => {
    const body = Buffer.from('pretend weights');
    const server = await startTestServer({ '/w.h5': { body } });
    try {
      const dest = await freshDir();
      const sha256 = createHash('sha256').update(body).digest('hex');
      const result = await withEnv({ STYLEGRAPH_VGG19: undefined },
        () => run(t, ['fetch', '--url', server.url('/w.h5'), '--sha256', sha256, '--dest', dest]));
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, path.join(dest, KERAS_VGG19_FILENAME));
      assert.match(result.stderr, /^stylegraph weights: saved .* \(15 B in \d+s; SHA-256 checked\)$/);
      assert.deepEqual(await readFile(result.stdout), body);

      const otherDest = await freshDir();
      const wrongEnvHash = await withEnv({ STYLEGRAPH_VGG19_SHA256: '00'.repeat(32) },
        () => run(t, ['fetch', '--url', server.url('/w.h5'), '--dest', otherDest]));
      assert.equal(wrongEnvHash.code, 1);
      assert.match(wrongEnvHash.stderr, /SHA-256 is [0-9a-f]{64}, not the expected 0{64}/);
    } finally {
      await server.close();
    }
  });

  it('refuses unknown subcommands and options with exit code 2', async (t) => {
    assert.equal((await run(t, ['download'])).code, 2);
    const badOption = await run(t, ['fetch', '--sha1', 'x']);
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /--sha1/);
    assert.equal((await run(t, [])).code, 2);
  });
});
