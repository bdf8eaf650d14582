/**
 * Gatys optimisation: at each size, the time of a forward pass (VGG19
 * features and the losses), of one optimisation step (forward, input
 * gradient, Adam update) and their ratio, with peak RSS.
 */
import * as tf from '@tensorflow/tfjs';
import { loadVgg19, resolveParams, stylize, type BackendInfo } from '../src/engine';
import { disposeTargets, StyleObjective } from '../src/engine/transfer';
import { median, peakRssMiB, round, syntheticImage, type Row } from './common';

async function measure(size: number, timedSteps: number) {
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
  disposeTargets(targets);

  // Steps timed between consecutive step events of the real loop.
  const stepMs: number[] = [];
  let last = performance.now();
  for await (const event of stylize(vgg, { content, styles: [style], params })) {
    const now = performance.now();
    if (event.kind === 'step' && event.step > 1) stepMs.push(now - last);
    last = performance.now();
  }
  vgg.dispose();
  return { forward: median(forwardMs), step: median(stepMs) };
}

export async function benchmarkOptimisation(backend: BackendInfo, sizes: number[], timedSteps: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of sizes) {
    const { forward, step } = await measure(size, timedSteps);
    rows.push({
      bench: 'optimise', backend: backend.backend, size, forwardMs: round(forward), stepMs: round(step),
      stepPerForward: round(step / forward, 2), peakRssMiB: peakRssMiB(),
    });
  }
  return rows;
}
