import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import {
  initBackend, listFastStylePresets, loadFastStyleNetwork, locateFastStyleModels,
  type FastStyleNetwork, type RgbImage,
} from '../../src/engine';
import { MIRRORED_MARGIN } from '../../src/engine/fast-style/network';
import { subPixelKernel, transposedConv2x } from '../../src/engine/fast-style/transposed-conv';
import { WeightsFormatError, WeightsNotFoundError } from '../../src/engine/weights';
import { FAST_STYLE_MODELS, IMAGES_DIR } from '../helpers/shared-data';

const PRESET = 'la_muse';
const PRESET_DIR = path.join(FAST_STYLE_MODELS, PRESET);

/** A deterministic image with texture at every scale (a small LCG's noise over a gradient). */
function testImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    data[i] = Math.floor(((i % (width * 3)) / (width * 3)) * 128 + (state / 2 ** 31) * 127);
  }
  return { width, height, data };
}

/** The stored variables by name, read straight from the manifest, as tensors. */
async function readVariables(dir: string): Promise<Map<string, tf.Tensor>> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as
    Record<string, { filename: string; shape: number[] }>;
  const variables = new Map<string, tf.Tensor>();
  for (const [name, { filename, shape }] of Object.entries(manifest)) {
    const bytes = await readFile(path.join(dir, filename));
    variables.set(name, tf.tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice(), shape));
  }
  return variables;
}

/**
 * The network written out from shared/models/README.md with plain tfjs ops
 * (tf.conv2dTranspose, tf.moments, the normalisation formula), on purpose
 * unlike the engine's code. [1, h, w, 3] pixels 0..1 in and out. With
 * `margin`, the image is mirrored that far out on each side first (at most
 * one less than the side) and the output cut back to the image.
 */
function referenceStylize(variables: Map<string, tf.Tensor>, image: tf.Tensor4D, margin = 0): tf.Tensor4D {
  return tf.tidy(() => {
    const v = (index: number) => variables.get(index === 0 ? 'Variable' : `Variable_${index}`)!;
    // Variables k + 1 and k + 2 are the shift and scale of the layer whose kernel is k.
    const instanceNorm = (x: tf.Tensor4D, kernel: number) => {
      const { mean, variance } = tf.moments(x, [1, 2], true);
      const normalized = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)));
      return tf.add(tf.mul(normalized, v(kernel + 2)), v(kernel + 1)) as tf.Tensor4D;
    };
    const conv = (x: tf.Tensor4D, kernel: number, stride: number, relu = true) => {
      const y = instanceNorm(tf.conv2d(x, v(kernel) as tf.Tensor4D, stride, 'same'), kernel);
      return relu ? tf.relu(y) : y;
    };
    const transposedConv = (x: tf.Tensor4D, kernel: number) => {
      const [batch, height, width] = x.shape;
      const filter = v(kernel) as tf.Tensor4D;
      const y = tf.conv2dTranspose(x, filter, [batch, 2 * height, 2 * width, filter.shape[2]], 2, 'same');
      return tf.relu(instanceNorm(y, kernel));
    };

    const [, height, width] = image.shape;
    const [top, left] = [Math.min(margin, height - 1), Math.min(margin, width - 1)];
    let x = tf.mul(tf.mirrorPad(image, [[0, 0], [top, top], [left, left], [0, 0]], 'reflect'), 255) as tf.Tensor4D;
    x = conv(conv(conv(x, 0, 1), 3, 2), 6, 2);
    for (const block of [9, 15, 21, 27, 33]) x = tf.add(x, conv(conv(x, block, 1), block + 3, 1, false));
    x = conv(transposedConv(transposedConv(x, 39), 42), 45, 1, false);
    const pixels = tf.div(tf.clipByValue(tf.add(tf.mul(tf.tanh(x), 150), 255 / 2), 0, 255), 255);
    return tf.slice(pixels as tf.Tensor4D, [0, top, left, 0], [1, height, width, 3]);
  });
}

function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function imageTensor(image: RgbImage): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.tensor4d(image.data, [1, image.height, image.width, 3], 'float32'), 255));
}

before(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('fast-style network', () => {
  let network: FastStyleNetwork;
  let variables: Map<string, tf.Tensor>;

  before(async () => {
    network = await loadFastStyleNetwork(PRESET_DIR);
    variables = await readVariables(PRESET_DIR);
  });
  after(() => {
    network.dispose();
    tf.dispose([...variables.values()]);
  });

  it('is named after its folder', () => {
    assert.equal(network.name, PRESET);
  });

  for (const [width, height] of [[20, 14], [17, 13]]) {
    it(`matches the README's network written with plain tfjs ops, with the mirrored margin, at ${width}x${height}`, () => {
      const input = imageTensor(testImage(width, height));
      const ours = network.stylizeTensor(input);
      const reference = referenceStylize(variables, input, MIRRORED_MARGIN);
      assert.deepEqual(ours.shape, [1, height, width, 3]);
      const difference = maxAbsDifference(ours, reference);
      // Not a saturated or constant image: the comparison means something.
      const spread = tf.tidy(() => tf.sub(tf.max(reference), tf.min(reference)).dataSync()[0]);
      tf.dispose([input, ours, reference]);
      assert.ok(spread > 0.3, `reference output spans only ${spread}`);
      assert.ok(difference < 1e-4, `max difference ${difference}`);
    });
  }

  for (const [width, height] of [[17, 13], [31, 9], [1, 1], [2, 5]]) {
    it(`returns an RGB image of exactly the input's size (${width}x${height})`, () => {
      const styled = network.stylize(testImage(width, height));
      assert.equal(styled.width, width);
      assert.equal(styled.height, height);
      assert.equal(styled.data.length, width * height * 3);
    });
  }

  it('paints the edges as it paints the rest: the mirrored margin takes away the dark ring of strokes that zero padding draws', async () => {
    const { data } = await sharp(path.join(IMAGES_DIR, 'tubingen.jpg')).resize(128, 96).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const input = imageTensor({ width: 128, height: 96, data });
    // How much darker the outer 6 px are than the rest, in levels of 255.
    const edgeDarkening = (styled: tf.Tensor4D) => tf.tidy(() => {
      const ring = tf.sub(1, tf.pad(tf.ones([1, 84, 116, 1]), [[0, 0], [6, 6], [6, 6], [0, 0]]));
      const mean = (weights: tf.Tensor) => tf.sum(tf.mul(styled, weights)).dataSync()[0] / (tf.sum(weights).dataSync()[0] * 3);
      return (mean(tf.sub(1, ring)) - mean(ring)) * 255;
    });
    const bare = referenceStylize(variables, input);
    const ours = network.stylizeTensor(input);
    const [bareDarkening, ourDarkening] = [edgeDarkening(bare), edgeDarkening(ours)];
    tf.dispose([input, bare, ours]);
    // Measured: 10.8 levels without, 4.6 with.
    assert.ok(Math.abs(ourDarkening) < 0.6 * Math.abs(bareDarkening), `edges ${ourDarkening.toFixed(1)}/255 darker than the rest with the margin, ${bareDarkening.toFixed(1)} without`);
  });

  it('gives as RGB image what it gives as a tensor, rounded', () => {
    const image = testImage(17, 13);
    const styled = network.stylize(image);
    const reference = tf.tidy(() => tf.round(tf.mul(referenceStylize(variables, imageTensor(image), MIRRORED_MARGIN), 255)).dataSync());
    const worst = styled.data.reduce((most, value, i) => Math.max(most, Math.abs(value - reference[i])), 0);
    // Rounding a value that lies within 1e-4 of a half-level may go either way.
    assert.ok(worst <= 1, `a pixel differs from the reference by ${worst} levels`);
  });

  it('leaves no tensors behind', () => {
    const image = testImage(19, 11);
    network.stylize(image); // kernels may cache state on first use
    const before = tf.memory().numTensors;
    network.stylize(image);
    const input = imageTensor(image);
    tf.dispose([network.stylizeTensor(input), input]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('frees all its weights on dispose', async () => {
    const before = tf.memory().numTensors;
    const other = await loadFastStyleNetwork(path.join(FAST_STYLE_MODELS, 'wave'));
    assert.ok(tf.memory().numTensors > before);
    other.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('refuses a batch or a non-RGB tensor', () => {
    const batch = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
    assert.throws(() => network.stylizeTensor(batch), /one RGB image/);
    batch.dispose();
  });
});

describe('stride-2 transposed convolution as a forward convolution', () => {
  for (const [height, width] of [[4, 6], [5, 3], [1, 1]]) {
    it(`equals tf.conv2dTranspose 'same' on a ${height}x${width} input`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([1, height, width, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
        const kernel = tf.randomNormal([3, 3, 7, 5], 0, 1, 'float32', 2) as tf.Tensor4D; // [h, w, out, in]
        const expected = tf.conv2dTranspose(x, kernel, [1, 2 * height, 2 * width, 7], 2, 'same');
        const actual = transposedConv2x(x, subPixelKernel(kernel));
        assert.deepEqual(actual.shape, expected.shape);
        assert.ok(maxAbsDifference(actual, expected) < 1e-5);
      });
    });
  }
});

describe('fast-style network folders', () => {
  let scratch: string;
  let caseCount = 0;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'stylegraph-fast-style-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** A folder holding the real network's files as links, except those in `replaced` (name -> contents). */
  async function networkCopy(replaced: Record<string, string | Uint8Array> = {}): Promise<string> {
    const dir = path.join(scratch, `case${++caseCount}`);
    await mkdir(dir);
    for (const name of await readdir(PRESET_DIR)) {
      if (name in replaced) await writeFile(path.join(dir, name), replaced[name]);
      else await symlink(path.join(PRESET_DIR, name), path.join(dir, name));
    }
    return dir;
  }

  async function manifestWith(edit: (manifest: Record<string, { filename: string; shape: number[] }>) => void): Promise<string> {
    const manifest = JSON.parse(await readFile(path.join(PRESET_DIR, 'manifest.json'), 'utf8'));
    edit(manifest);
    return JSON.stringify(manifest);
  }

  it('lists the six presets with their paintings', async () => {
    const presets = await listFastStylePresets(FAST_STYLE_MODELS);
    assert.deepEqual(presets.map((preset) => preset.name), ['la_muse', 'rain_princess', 'scream', 'udnie', 'wave', 'wreck']);
    for (const preset of presets) {
      assert.equal(preset.dir, path.join(FAST_STYLE_MODELS, preset.name));
      assert.equal(preset.stylePath, path.join(preset.dir, 'style.jpg'));
    }
  });

  it('lists only sub-folders that hold a manifest', async () => {
    const folder = path.join(scratch, 'presets');
    await mkdir(path.join(folder, 'empty'), { recursive: true });
    await writeFile(path.join(folder, 'stray-file'), '');
    await symlink(PRESET_DIR, path.join(folder, 'linked'));
    assert.deepEqual((await listFastStylePresets(folder)).map((preset) => preset.name), ['linked']);
  });

  it('finds the models folder from STYLEGRAPH_FAST_STYLE_MODELS, else the cache', async () => {
    assert.equal(locateFastStyleModels({ STYLEGRAPH_FAST_STYLE_MODELS: FAST_STYLE_MODELS }), path.resolve(FAST_STYLE_MODELS));
    const cache = path.join(scratch, 'cache');
    assert.throws(() => locateFastStyleModels({ STYLEGRAPH_CACHE_DIR: cache }), (error: Error) => {
      assert.ok(error instanceof WeightsNotFoundError);
      assert.match(error.message, /STYLEGRAPH_FAST_STYLE_MODELS is not set/);
      assert.ok(error.message.includes(path.join(cache, 'fast-style')), error.message);
      return true;
    });
    await mkdir(path.join(cache, 'fast-style'), { recursive: true });
    assert.equal(locateFastStyleModels({ STYLEGRAPH_CACHE_DIR: cache }), path.join(cache, 'fast-style'));
  });

  it('says where it looked when STYLEGRAPH_FAST_STYLE_MODELS is not a folder', () => {
    const missing = path.join(scratch, 'nowhere');
    assert.throws(() => locateFastStyleModels({ STYLEGRAPH_FAST_STYLE_MODELS: missing }),
      new RegExp(`STYLEGRAPH_FAST_STYLE_MODELS is ${missing}, which is not a directory`));
  });

  it('refuses a folder that does not exist or has no manifest', async () => {
    await assert.rejects(loadFastStyleNetwork(path.join(scratch, 'nowhere')), WeightsNotFoundError);
    const empty = path.join(scratch, 'no-manifest');
    await mkdir(empty);
    await assert.rejects(loadFastStyleNetwork(empty), /no manifest\.json/);
  });

  it('refuses a manifest that is not JSON', async () => {
    await assert.rejects(loadFastStyleNetwork(await networkCopy({ 'manifest.json': '{ "Variable": ' })), /not valid JSON/);
  });

  it('names the missing and unexpected variables', async () => {
    const manifest = await manifestWith((m) => {
      m.Variable_48 = m.Variable_47;
      delete m.Variable_47;
    });
    await assert.rejects(loadFastStyleNetwork(await networkCopy({ 'manifest.json': manifest })), (error: Error) => {
      assert.ok(error instanceof WeightsFormatError);
      assert.match(error.message, /expected exactly the 48 variables/);
      assert.match(error.message, /missing: Variable_47; unexpected: Variable_48/);
      return true;
    });
  });

  it('names a variable whose shape is not the architecture\'s', async () => {
    const manifest = await manifestWith((m) => { m.Variable_39.shape = [3, 3, 128, 64]; });
    await assert.rejects(loadFastStyleNetwork(await networkCopy({ 'manifest.json': manifest })),
      /Variable_39 \(upsample1 kernel\) has shape \[3,3,128,64\], expected \[3,3,64,128\]/);
  });

  it('refuses a variable file of the wrong size', async () => {
    const dir = await networkCopy({ Variable_46: new Uint8Array(8) });
    await assert.rejects(loadFastStyleNetwork(dir), /Variable_46 \(output shift\) \[3\] needs 12 bytes of float32, found 8/);
  });

  it('keeps variable files inside the network folder', async () => {
    const manifest = await manifestWith((m) => { m.Variable_1.filename = '../Variable_1'; });
    await assert.rejects(loadFastStyleNetwork(await networkCopy({ 'manifest.json': manifest })), /must not contain a path/);
  });
});
