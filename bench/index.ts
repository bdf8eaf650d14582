/**
 * `npm run bench`: engine speed and memory on the active backend, as tables;
 * `npm run bench -- --json` prints one JSON object a line instead.
 * Options: --only optimise|fast|fast-then-optimise, --sizes 64,128,256
 * (optimisation), --fast-sizes 128,256,512, --steps N, --preset NAME.
 * fast-then-optimise (minutes: 300 steps or more at 128 px) runs only when
 * asked for: --only fast-then-optimise, with --fto-size 128, --fto-steps 300,
 * --content FILE (default ../shared/images/tubingen.jpg), --preset (wave).
 * Also only when asked for (minutes each):
 *   --only optimizers   Adam vs L-BFGS, steps and seconds to the loss of --adam-steps 300 Adam steps, at --optimizer-sizes 128,256
 *   --only peers        against the tutorial in PyTorch (python3 with torch) at --peer-size 256, same run
 *   --only memory       the WebAssembly heap per size against the engine's memory model (--memory-sizes, --memory-style-sizes)
 *   --only estimate     estimateRun's time model against real runs of several shapes
 *   --only flicker      temporal coherence on animations made from --content: flicker with and without it, at
 *                       --flicker-size 64, --flicker-frames 6, --flicker-steps 50 a frame, --pan 2 px a frame,
 *                       --temporal-weights 1e10,1e11,1e12
 * with --content and --style FILE (default ../shared/images/tubingen.jpg and starry_night.jpg).
 * Weights: STYLEGRAPH_VGG19 and STYLEGRAPH_FAST_STYLE_MODELS (or the cache).
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine';
import { report } from './common';
import { benchmarkOptimisation } from './engine';
import { benchmarkEstimate } from './estimate';
import { benchmarkMemory } from './memory';
import { benchmarkOptimizers, DEFAULT_STYLE } from './optimizers';
import { benchmarkPeers } from './peers';
import { benchmarkFastStyle } from './fast-style';
import { benchmarkFastThenOptimise, DEFAULT_CONTENT } from './fast-then-optimise';
import { benchmarkFlicker } from './flicker';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    sizes: { type: 'string', default: '64,128,256' },
    'fast-sizes': { type: 'string', default: '128,256,512' },
    steps: { type: 'string', default: '5' },
    preset: { type: 'string' },
    'fto-size': { type: 'string', default: '128' },
    'fto-steps': { type: 'string', default: '300' },
    content: { type: 'string', default: DEFAULT_CONTENT },
    style: { type: 'string', default: DEFAULT_STYLE },
    'optimizer-sizes': { type: 'string', default: '128,256' },
    'adam-steps': { type: 'string', default: '300' },
    'peer-size': { type: 'string', default: '256' },
    'memory-sizes': { type: 'string', default: '256,512,768,896' },
    'memory-style-sizes': { type: 'string', default: '512,1024,1536' },
    'flicker-size': { type: 'string', default: '64' },
    'flicker-frames': { type: 'string', default: '6' },
    'flicker-steps': { type: 'string', default: '50' },
    pan: { type: 'string', default: '2' },
    'temporal-weights': { type: 'string', default: '1e10,1e11,1e12' },
  },
});
const numbers = (text: string) => text.split(',').map(Number);

async function main() {
  const backend = await initBackend();
  const json = values.json!;
  if (!json) console.log(`backend ${backend.backend} on ${backend.device}; medians of ${values.steps} runs`);
  if (values.only === 'fast-then-optimise') {
    report('FAST_THEN_OPTIMIZE: steps to the loss a content-initialised optimisation reaches', await benchmarkFastThenOptimise(backend, {
      size: Number(values['fto-size']), steps: Number(values['fto-steps']), preset: values.preset ?? 'wave', content: values.content!,
    }), json);
    return;
  }
  if (values.only === 'optimizers') {
    report('Adam and L-BFGS: steps and seconds to the loss of 300 Adam steps', await benchmarkOptimizers(backend, {
      sizes: numbers(values['optimizer-sizes']!), adamSteps: Number(values['adam-steps']), content: values.content!, style: values.style!,
    }), json);
    return;
  }
  if (values.only === 'peers') {
    report('Against the tutorial in PyTorch, same machine, same run', await benchmarkPeers(backend, {
      content: values.content!, style: values.style!, size: Number(values['peer-size']), adamSteps: Number(values['adam-steps']),
    }), json);
    return;
  }
  if (values.only === 'estimate') {
    report('estimateRun\'s time model (calibrated, uncorrected) against real runs', await benchmarkEstimate(backend, { content: values.content!, style: values.style! }), json);
    return;
  }
  if (values.only === 'flicker') {
    report('Temporal coherence: flicker (0-255, along the content\'s motion where it did not change) of frames painted one after the other', await benchmarkFlicker(backend, {
      size: Number(values['flicker-size']), frames: Number(values['flicker-frames']), steps: Number(values['flicker-steps']),
      pan: Number(values.pan), weights: numbers(values['temporal-weights']!), content: values.content!, style: values.style!,
    }), json);
    return;
  }
  if (values.only === 'memory') {
    report('WebAssembly heap: measured in a fresh thread each, and the engine\'s memory model', await benchmarkMemory(backend, numbers(values['memory-sizes']!), numbers(values['memory-style-sizes']!)), json);
    return;
  }
  if (values.only !== 'fast') {
    report('Gatys optimisation (step = forward + input gradient + Adam)',
      await benchmarkOptimisation(backend, numbers(values.sizes!), Number(values.steps)), json);
  }
  if (values.only !== 'optimise') {
    report('Feed-forward fast style', await benchmarkFastStyle(backend, numbers(values['fast-sizes']!), Number(values.steps), values.preset), json);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
