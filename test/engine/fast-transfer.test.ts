import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import {
  DEFAULT_PARAMS, fastStylizeContent, fastTransfer, initBackend, loadFastStyleNetwork, resolveParams, stylize,
  type FastStyleNetwork, type RgbImage, type TransferEvent, type Vgg19,
} from '../../src/engine';
import { FAST_STYLE_MODELS, sharedVgg19 } from '../helpers/shared-data';

/** A 40x24 gradient with some texture. */
function photo(): RgbImage {
  const width = 40;
  const height = 24;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + ((i / 3) % width) * 5) % 256;
  return { width, height, data };
}

describe('run modes in the parameters', () => {
  it('default to the tutorial: mode optimize, no preset', () => {
    assert.deepEqual([DEFAULT_PARAMS.mode, DEFAULT_PARAMS.preset], ['optimize', null]);
  });

  it('make a FAST run one epoch at one size', () => {
    const params = resolveParams({ mode: 'fast', preset: 'wave', epochs: 10, multiscale: 3 });
    assert.deepEqual([params.epochs, params.multiscale, params.preset], [1, 1, 'wave']);
  });

  it('name the offending field', () => {
    const refused: [Record<string, unknown>, string, RegExp][] = [
      [{ mode: 'slow' }, 'mode', /optimize, fast, fast-then-optimize/],
      [{ mode: 'fast' }, 'preset', /required in mode fast/],
      [{ mode: 'fast-then-optimize' }, 'preset', /required/],
      [{ preset: 'wave' }, 'preset', /only in the fast modes/],
      [{ mode: 'fast', preset: '../wave' }, 'preset', /name of a fast-style network/],
      [{ mode: 'fast', preset: 7 }, 'preset', /name of a fast-style network/],
    ];
    for (const [partial, field, message] of refused) {
      assert.throws(() => resolveParams(partial), { name: 'ParamError', field, message }, JSON.stringify(partial));
    }
  });
});

describe('fast transfer', () => {
  let vgg: Vgg19;
  let network: FastStyleNetwork;
  let painting: RgbImage;
  before(async () => {
    await initBackend({ backend: 'wasm' });
    vgg = await sharedVgg19();
    network = await loadFastStyleNetwork(path.join(FAST_STYLE_MODELS, 'wave'));
    const { data, info } = await sharp(path.join(FAST_STYLE_MODELS, 'wave', 'style.jpg')).resize(48, 48, { fit: 'inside' })
      .removeAlpha().raw().toBuffer({ resolveWithObject: true });
    painting = { width: info.width, height: info.height, data: new Uint8Array(data) };
  });
  after(() => network?.dispose());

  const params = resolveParams({ mode: 'fast', preset: 'wave', maxDim: 32 });

  it('styles the content fitted to maxDim, as the network does, and measures it with the Gatys losses', () => {
    const before = tf.memory().numTensors;
    const result = fastTransfer(vgg, network, { content: photo(), styles: [painting], params });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepEqual([result.image.width, result.image.height], [32, 19]);
    assert.deepEqual(result.image.data, fastStylizeContent(network, photo(), 32).data);
    const { temporal, ...terms } = result.losses;
    for (const value of Object.values(terms)) assert.ok(Number.isFinite(value) && value > 0, JSON.stringify(result.losses));
    assert.equal(temporal, 0, 'a still image has no temporal term');
    assert.ok(Math.abs(result.losses.total - (result.losses.content + result.losses.style + result.losses.totalVariation)) < 1e-3 * result.losses.total);
    assert.deepEqual(Object.keys(result.layers.style).length, 5);
  });

  it('reports zero losses when there is no painting to compare with', () => {
    const result = fastTransfer(vgg, network, { content: photo(), styles: [], params });
    assert.deepEqual(result.losses, { total: 0, content: 0, style: 0, totalVariation: 0, temporal: 0 });
  });

  it('keeps the content\'s colours with preserveColors', () => {
    const plain = fastTransfer(vgg, network, { content: photo(), styles: [], params });
    const kept = fastTransfer(vgg, network, { content: photo(), styles: [], params: { ...params, preserveColors: true } });
    assert.notDeepEqual(kept.image.data, plain.image.data);
  });

  it('starts FAST_THEN_OPTIMIZE from the network\'s result, and only from it', async () => {
    const ftoParams = resolveParams({ mode: 'fast-then-optimize', preset: 'wave', maxDim: 32, epochs: 1, stepsPerEpoch: 2 });
    const start = fastTransfer(vgg, network, { content: photo(), styles: [painting], params: { ...ftoParams, mode: 'fast' } });
    const initImage = fastStylizeContent(network, photo(), ftoParams.maxDim);
    const events: TransferEvent[] = [];
    for await (const event of stylize(vgg, { content: photo(), styles: [painting], params: ftoParams, initImage })) events.push(event);
    const first = events[0];
    assert.equal(first.kind, 'step');
    // The first step's losses are those of the image it started from (rounded to 8 bits there).
    assert.ok(Math.abs(first.losses.total - start.losses.total) < 0.02 * start.losses.total, `${first.losses.total} vs ${start.losses.total}`);
    const fromContent = stylize(vgg, { content: photo(), styles: [painting], params: { ...ftoParams, mode: 'optimize', preset: null } });
    const contentStart = (await fromContent.next()).value as TransferEvent;
    await fromContent.return(undefined);
    assert.notEqual(contentStart.losses.total, first.losses.total);

    await assert.rejects(stylize(vgg, { content: photo(), styles: [painting], params: ftoParams }).next(), { name: 'ParamError', field: 'initImage' });
    await assert.rejects(stylize(vgg, { content: photo(), styles: [painting], params }).next(), { name: 'ParamError', field: 'mode' });
  });
});
