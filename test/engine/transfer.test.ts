import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, loadVgg19, resolveParams, stylize,
  type Checkpoint, type OptimizationEvent, type RgbImage, type StylizeInput, type Vgg19,
} from '../../src/engine';
import { StyleObjective } from '../../src/engine/transfer';
import { readSharedImage, sharedVgg19, VGG19_PATH } from '../helpers/shared-data';
import { referenceTutorialRun } from './reference-tutorial';

async function collect(vgg: Vgg19, input: StylizeInput): Promise<OptimizationEvent[]> {
  const events: OptimizationEvent[] = [];
  for await (const event of stylize(vgg, input)) events.push(event);
  return events;
}

const epochsOf = (events: OptimizationEvent[]) => events.filter((e): e is Extract<OptimizationEvent, { kind: 'epoch' }> => e.kind === 'epoch');

function assertRelativelyClose(actual: number, expected: number, tolerance: number, what: string) {
  const relative = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(relative <= tolerance, `${what}: ${actual} vs ${expected} (relative difference ${relative.toExponential(2)})`);
}

describe('stylize with the real VGG19', () => {
  let vgg: Vgg19;
  let content: RgbImage;
  let style: RgbImage;
  /** Square, so that it stays over 16 px on both sides at the smallest sizes used here. */
  let squareStyle: RgbImage;

  before(async () => {
    await initBackend({ backend: 'wasm' });
    vgg = await sharedVgg19();
    [content, style, squareStyle] = await Promise.all([
      readSharedImage('tubingen.jpg', 32), readSharedImage('starry_night.jpg', 32), readSharedImage('astronaut.png', 32),
    ]);
  });

  it('matches an independent implementation of the tutorial epoch by epoch', async () => {
    const params = resolveParams({ maxDim: 32, epochs: 3, stepsPerEpoch: 3 });
    const [ours, reference] = await Promise.all([
      collect(vgg, { content, styles: [style], params }).then(epochsOf),
      referenceTutorialRun(VGG19_PATH, content, style, 3, 3),
    ]);
    assert.equal(ours.length, 3);
    ours.forEach((epoch, i) => {
      for (const [name, expected] of Object.entries(reference[i])) {
        const key = name === 'tv' ? 'totalVariation' : (name as 'total' | 'content' | 'style');
        assertRelativelyClose(epoch.losses[key], expected, 1e-3, `epoch ${i + 1} ${name}`);
      }
    });
  });

  it('lowers the total loss epoch after epoch and reports per-layer losses that add up', async () => {
    const larger = await Promise.all([readSharedImage('tubingen.jpg', 40), readSharedImage('the_scream.jpg', 40)]);
    const events = await collect(vgg, { content: larger[0], styles: [larger[1]], params: resolveParams({ maxDim: 40, epochs: 4, stepsPerEpoch: 5 }) });
    const epochs = epochsOf(events);
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4]);
    const steps = events.filter((e) => e.kind === 'step');
    assert.equal(steps.length, 20);
    assert.ok(steps.every((e) => e.ms > 0), 'every step is timed, the first too');
    for (let i = 1; i < epochs.length; i++) {
      assert.ok(epochs[i].losses.total < epochs[i - 1].losses.total, `epoch ${i + 1} total ${epochs[i].losses.total} >= ${epochs[i - 1].losses.total}`);
    }
    const last = epochs.at(-1)!;
    const styleSum = Object.values(last.layers.style).reduce((a, b) => a + b, 0);
    assertRelativelyClose(styleSum, last.losses.style, 1e-5, 'sum of style layers');
    assert.deepEqual(Object.keys(last.layers.style), ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']);
    assertRelativelyClose(last.losses.total, last.losses.content + last.losses.style + last.losses.totalVariation, 1e-5, 'total');
    assert.equal(last.image.width, 40);
    assert.equal(last.image.data.length, last.image.width * last.image.height * 3);
  });

  for (const optimizer of ['adam', 'lbfgs'] as const) {
    it(`resumes from a checkpoint to exactly the image of an uninterrupted run (${optimizer})`, async () => {
      const params = resolveParams({ maxDim: 32, epochs: 3, stepsPerEpoch: 3, init: 'noise', seed: 7, optimizer });
      const uninterrupted = epochsOf(await collect(vgg, { content, styles: [style], params }));

      let checkpoint;
      for await (const event of stylize(vgg, { content, styles: [style], params })) {
        if (event.kind === 'epoch') {
          checkpoint = event.checkpoint;
          break; // the process "dies" after epoch 1
        }
      }
      assert.equal(checkpoint?.step, 3);
      const resumed = await collect(vgg, { content, styles: [style], params, resume: checkpoint });
      assert.equal(resumed[0].kind === 'step' && resumed[0].step, 4, 'resumes after the checkpoint');
      assert.ok(resumed.every((e) => e.kind !== 'step' || e.ms > 0), 'a resumption times its steps, its first too');
      const resumedEpochs = epochsOf(resumed);
      assert.deepEqual(resumedEpochs.map((e) => e.epoch), [2, 3]);
      assert.deepEqual(resumedEpochs.map((e) => e.losses), uninterrupted.slice(1).map((e) => e.losses));
      assert.deepEqual(resumedEpochs.at(-1)!.image.data, uninterrupted.at(-1)!.image.data);
    });

    it(`resumes from the checkpoint of an abort mid-epoch to exactly the image of an uninterrupted run (${optimizer})`, async () => {
      const params = resolveParams({ maxDim: 32, epochs: 3, stepsPerEpoch: 3, init: 'noise', seed: 7, optimizer });
      const uninterrupted = epochsOf(await collect(vgg, { content, styles: [style], params }));

      const controller = new AbortController();
      const reason = new Error('shutting down');
      let checkpoint: Checkpoint | undefined;
      await assert.rejects(async () => {
        for await (const event of stylize(vgg, {
          content, styles: [style], params, signal: controller.signal, onAbortCheckpoint: (c) => { checkpoint = c; },
        })) {
          if (event.kind === 'step' && event.step === 4) controller.abort(reason);
        }
      }, (err) => err === reason);
      assert.equal(checkpoint?.step, 4, 'the state after the last step taken, mid-epoch 2');
      const resumed = await collect(vgg, { content, styles: [style], params, resume: checkpoint });
      assert.equal(resumed[0].kind === 'step' && resumed[0].step, 5, 'resumes after the checkpoint');
      const resumedEpochs = epochsOf(resumed);
      assert.deepEqual(resumedEpochs.map((e) => e.epoch), [2, 3]);
      assert.deepEqual(resumedEpochs.map((e) => e.losses), uninterrupted.slice(1).map((e) => e.losses));
      assert.deepEqual(resumedEpochs.map((e) => e.checkpoint), uninterrupted.slice(1).map((e) => e.checkpoint));
      assert.deepEqual(resumedEpochs.at(-1)!.image.data, uninterrupted.at(-1)!.image.data);
    });
  }

  it('reaches a lower loss with L-BFGS than with Adam in the same number of steps, keeping every image in [0, 1]', async () => {
    const run = async (optimizer: 'adam' | 'lbfgs') => {
      const events = await collect(vgg, { content, styles: [style], params: resolveParams({ maxDim: 32, epochs: 2, stepsPerEpoch: 6, optimizer }) });
      const epochs = epochsOf(events);
      for (const epoch of epochs) {
        assert.ok(epoch.checkpoint.image.every((v) => v >= 0 && v <= 1), `${optimizer} epoch ${epoch.epoch}: the iterate left [0, 1]`);
        assert.equal(epoch.checkpoint.optimizer.kind, optimizer);
      }
      assert.equal(events.filter((e) => e.kind === 'step').length, 12, 'a step is one evaluation, whichever the optimiser');
      return epochs.at(-1)!.losses.total;
    };
    const [adam, lbfgs] = [await run('adam'), await run('lbfgs')];
    assert.ok(lbfgs < adam, `L-BFGS ${lbfgs} >= Adam ${adam} after 12 steps`);
  });

  it('holds a constant number of tensors from step to step and releases them all at the end', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for await (const event of stylize(vgg, { content, styles: [squareStyle], params: resolveParams({ maxDim: 24, epochs: 2, stepsPerEpoch: 4 }) })) {
      if (event.kind === 'step') counts.push(tf.memory().numTensors);
    }
    assert.equal(counts.length, 8);
    assert.deepEqual(counts, new Array(8).fill(counts[0]), `tensor counts per step: ${counts}`);
    assert.equal(tf.memory().numTensors, before);
  });

  it('stops after the current step when its signal is aborted', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let steps = 0;
    await assert.rejects(async () => {
      for await (const event of stylize(vgg, { content, styles: [squareStyle], params: resolveParams({ maxDim: 24, epochs: 5, stepsPerEpoch: 10 }), signal: controller.signal })) {
        if (event.kind === 'step' && ++steps === 2) controller.abort();
      }
    }, { name: 'AbortError' });
    assert.equal(steps, 2);
    assert.equal(tf.memory().numTensors, before);
  });

  it('refuses an image too small for the deepest layer, naming it, before any step', async () => {
    // starry_night is 32x20: at maxDim 24 its shorter side (15 px) cannot reach block5.
    await assert.rejects(collect(vgg, { content, styles: [squareStyle, style], params: resolveParams({ maxDim: 24 }) }),
      { name: 'ParamError', field: 'styles[1]', message: /style image 2 is 24x15 px.*at least 16 px/ });
  });

  it('optimises at growing sizes with multiscale, each epoch image at its scale', async () => {
    const epochs = epochsOf(await collect(vgg, { content, styles: [squareStyle], params: resolveParams({ maxDim: 48, epochs: 3, stepsPerEpoch: 2, multiscale: 2 }) }));
    assert.deepEqual(epochs.map((e) => Math.max(e.image.width, e.image.height)), [24, 48, 48]);
    assert.deepEqual(epochs.map((e) => e.checkpoint.scale), [0, 1, 1]);
  });

  it('blends several styles, keeps colours, pools by average and starts from seeded noise or the style', async () => {
    const second = await readSharedImage('the_scream.jpg', 32);
    const run = (extra: Parameters<typeof resolveParams>[0]) =>
      collect(vgg, { content, styles: [squareStyle, second], params: resolveParams({ maxDim: 24, epochs: 1, stepsPerEpoch: 1, ...extra }) });
    const firstLoss = async (extra: Parameters<typeof resolveParams>[0]) => (await run(extra))[0].losses.total;

    const styleOnlyFirst = await firstLoss({ styleBlend: [1, 0] });
    const evenBlend = await firstLoss({ styleBlend: [1, 1] });
    assert.notEqual(styleOnlyFirst, evenBlend);
    assert.equal(await firstLoss({ init: 'noise', seed: 1 }), await firstLoss({ init: 'noise', seed: 1 }));
    assert.notEqual(await firstLoss({ init: 'noise', seed: 1 }), await firstLoss({ init: 'noise', seed: 2 }));
    assert.notEqual(await firstLoss({ init: 'style' }), await firstLoss({ init: 'content' }));
    assert.notEqual(await firstLoss({ pooling: 'avg' }), await firstLoss({ pooling: 'max' }));

    // Keeping colours: the result's chroma is the content's (YIQ I channel compared).
    const kept = epochsOf(await run({ preserveColors: true, stepsPerEpoch: 3 }))[0].image;
    const free = epochsOf(await run({ stepsPerEpoch: 3 }))[0].image;
    const contentSmall = await readSharedImage('tubingen.jpg', 24);
    const chromaDistance = (a: RgbImage, b: RgbImage) => {
      let sum = 0;
      for (let i = 0; i < a.data.length; i += 3) {
        const chroma = (d: Uint8Array) => 0.596 * d[i] - 0.274 * d[i + 1] - 0.322 * d[i + 2];
        sum += Math.abs(chroma(a.data) - chroma(b.data));
      }
      return sum / (a.data.length / 3);
    };
    assert.ok(chromaDistance(kept, contentSmall) < chromaDistance(free, contentSmall) / 2,
      `kept ${chromaDistance(kept, contentSmall)} vs free ${chromaDistance(free, contentSmall)}`);
  });

  it('computes the gradient tf.grad finds through the same losses (cpu backend, which has every gradient kernel)', async () => {
    await initBackend({ backend: 'cpu' });
    try {
      const cpuVgg = await loadVgg19({ kind: 'layers-model', path: VGG19_PATH });
      for (const pooling of ['max', 'avg'] as const) {
        const params = resolveParams({ maxDim: 24, pooling, contentLayers: [{ layer: 'block5_conv2', weight: 1 }, { layer: 'block4_conv1', weight: 0.5 }] });
        const objective = new StyleObjective(cpuVgg, params);
        const targets = objective.targets(content, [squareStyle], 24);
        const image = tf.tidy(() => tf.clipByValue(tf.add(targets.content, tf.randomUniform(targets.content.shape, -0.1, 0.1, 'float32', 4)), 0, 1)) as tf.Tensor4D;
        const ours = tf.tidy(() => objective.lossesAndGradient(image, targets).gradient.dataSync());
        const expected = tf.tidy(() => tf.grad((x) => objective.losses(x as tf.Tensor4D, targets).total)(image).dataSync());
        const scale = Math.max(...Array.from(expected, Math.abs));
        ours.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= 1e-4 * scale, `${pooling} element ${i}: ${value} vs ${expected[i]}`));
      }
      cpuVgg.dispose();
    } finally {
      await initBackend({ backend: 'wasm' });
    }
  });

  it('gives the same losses on the cpu backend as on wasm, to 1e-3', async () => {
    const params = resolveParams({ maxDim: 24, epochs: 1, stepsPerEpoch: 2 });
    const onWasm = epochsOf(await collect(vgg, { content, styles: [squareStyle], params }))[0].losses;
    await initBackend({ backend: 'cpu' });
    try {
      const cpuVgg = await loadVgg19({ kind: 'layers-model', path: VGG19_PATH });
      const onCpu = epochsOf(await collect(cpuVgg, { content, styles: [squareStyle], params }))[0].losses;
      cpuVgg.dispose();
      for (const key of ['total', 'content', 'style', 'totalVariation'] as const) {
        assertRelativelyClose(onCpu[key], onWasm[key], 1e-3, key);
      }
    } finally {
      await initBackend({ backend: 'wasm' });
    }
  });
});
