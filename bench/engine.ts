/**
 * Engine benchmark: for the active backend at 64, 128 and 256 px, the time of
 * a forward pass (VGG19 features and the losses), of one optimisation step
 * (forward, input gradient, Adam update) and their ratio, with peak RSS.
 * `npm run bench` prints a table; `npm run bench -- --json` one JSON object a line.
 * Weights: STYLEGRAPH_VGG19 or the cache, as for `stylegraph stylize`.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, loadVgg19, resolveParams, stylize, type RgbImage } from '../src/engine';
import { StyleObjective } from '../src/engine/transfer';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    sizes: { type: 'string', default: '64,128,256' },
    steps: { type: 'string', default: '5' },
  },
});
const sizes = values.sizes!.split(',').map(Number);
const timedSteps = Number(values.steps);

/** A deterministic, textured test image (benchmarks do not depend on content). */
function syntheticImage(size: number, seed: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37 + seed) * 0.5 + 0.5) * 255;
  return { width: size, height: size, data };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(size: number) {
  const vgg = await loadVgg19();
  const content = syntheticImage(size, 1);
  const style = syntheticImage(size, 2);
  const params = resolveParams({ maxDim: size, epochs: 1, stepsPerEpoch: timedSteps + 1 });

  const objective = new StyleObjective(vgg, params);
  const targets = objective.targets(content, [style], size);
  const forwardMs: number[] = [];
  for (let i = 0; i <= timedSteps; i++) {
    const start = performance.now();
    tf.tidy(() => objective.losses(targets.content, targets).total.dataSync());
    if (i > 0) forwardMs.push(performance.now() - start); // the first run warms kernels up
  }
  tf.dispose([targets.content, ...Object.values(targets.contentFeatures), ...Object.values(targets.styleGrams)]);

  // Steps timed between consecutive step events of the real loop.
  const stepMs: number[] = [];
  let last = performance.now();
  for await (const event of stylize(vgg, { content, styles: [style], params })) {
    const now = performance.now();
    if (event.kind === 'step' && event.step > 1) stepMs.push(now - last);
    last = performance.now();
  }
  vgg.dispose();
  const forward = median(forwardMs);
  const step = median(stepMs);
  return { size, forwardMs: round(forward), stepMs: round(step), ratio: round(step / forward, 2), peakRssMiB: round(process.resourceUsage().maxRSS / 1024) };
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

async function main() {
  const backend = await initBackend();
  if (!values.json) {
    console.log(`backend ${backend.backend} on ${backend.device}; median of ${timedSteps} runs each`);
    console.log('size   forward ms   step ms   step/forward   peak RSS MiB');
  }
  for (const size of sizes) {
    const row = await measure(size);
    if (values.json) {
      console.log(JSON.stringify({ backend: backend.backend, device: backend.device, ...row }));
    } else {
      console.log(`${String(size).padStart(4)}   ${String(row.forwardMs).padStart(10)}   ${String(row.stepMs).padStart(7)}   ${String(row.ratio).padStart(12)}   ${String(row.peakRssMiB).padStart(12)}`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
