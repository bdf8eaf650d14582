import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PARAMS, resolveParams, scaleSchedule } from '../../src/engine';

describe('resolveParams', () => {
  it("defaults to the tutorial's settings", () => {
    const params = resolveParams();
    assert.deepEqual(params, { ...DEFAULT_PARAMS });
    assert.equal(params.maxDim, 512);
    assert.deepEqual(params.contentLayers, [{ layer: 'block5_conv2', weight: 1 }]);
    assert.deepEqual(params.styleLayers.map((l) => l.layer), ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']);
    assert.deepEqual([params.contentWeight, params.styleWeight, params.totalVariationWeight], [1e4, 1e-2, 30]);
    assert.deepEqual([params.learningRate, params.beta1, params.beta2, params.epsilon], [0.02, 0.99, 0.999, 0.1]);
    assert.deepEqual([params.epochs, params.stepsPerEpoch, params.init], [10, 100, 'content']);
  });

  it('names the offending field', () => {
    const refused: [Record<string, unknown>, string, RegExp][] = [
      [{ epochs: 0 }, 'epochs', /at least 1/],
      [{ epochs: 2.5 }, 'epochs', /integer/],
      [{ maxDim: Number.NaN }, 'maxDim', /finite/],
      [{ maxDim: 8 }, 'maxDim', /at least 16/],
      [{ learningRate: 0 }, 'learningRate', /greater than 0/],
      [{ styleWeight: -1 }, 'styleWeight', /at least 0/],
      [{ init: 'zeros' }, 'init', /content, noise, style/],
      [{ styleBlend: [0, 0] }, 'styleBlend', /positive/],
      [{ styleBlend: [1, -2] }, 'styleBlend[1]', /at least 0/],
      [{ styleLayers: [{ layer: 'block6_conv1', weight: 1 }] }, 'styleLayers[0].layer', /VGG19 conv layer/],
      [{ contentLayers: [] }, 'contentLayers', /non-empty/],
      [{ preserveColors: 'yes' }, 'preserveColors', /true or false/],
      [{ multiscale: 3, epochs: 2 }, 'multiscale', /one epoch per scale/],
      [{ multiscale: 3, maxDim: 32 }, 'multiscale', /under 16 px/],
      [{ colour: 'red' }, 'colour', /not a parameter/],
    ];
    for (const [partial, field, message] of refused) {
      assert.throws(() => resolveParams(partial), { name: 'ParamError', field, message }, JSON.stringify(partial));
    }
  });
});

describe('scaleSchedule', () => {
  it('doubles sizes up to maxDim and gives the remainder of the epochs to the larger sizes', () => {
    const schedule = scaleSchedule(resolveParams({ maxDim: 256, epochs: 5, stepsPerEpoch: 10, multiscale: 3 }));
    assert.deepEqual(schedule, [
      { maxDim: 64, firstStep: 0, endStep: 10 },
      { maxDim: 128, firstStep: 10, endStep: 30 },
      { maxDim: 256, firstStep: 30, endStep: 50 },
    ]);
  });
});
