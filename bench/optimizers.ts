/**
 * Adam against L-BFGS on the tutorial's pair: at each size, 300 Adam steps
 * set the target (the total loss of the image they reach), then each
 * optimiser runs until its image's loss is at most that: the steps and
 * seconds it took. Each step is one evaluation of the loss and its gradient.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { decodeImage, loadVgg19, resolveParams, stylize, type BackendInfo, type OptimizerName, type RgbImage, type Vgg19 } from '../src/engine';
import { round, syntheticImage, type Row } from './common';

export const DEFAULT_STYLE = resolve(__dirname, '../../../shared/images/starry_night.jpg');

async function image(file: string, seed: number, size: number): Promise<{ image: RgbImage; name: string }> {
  return existsSync(file) ? { image: await decodeImage(readFileSync(file)), name: basename(file) } : { image: syntheticImage(size, seed), name: 'synthetic' };
}

interface Reached {
  /** Steps until the loss was at most the target (null: not within `maxSteps`); the loss then. */
  steps: number | null;
  loss: number;
  ms: number;
}

/** Optimises until the loss of the current image is at most `target`, or for `maxSteps` steps; step events carry the loss of the image they start from. */
async function until(vgg: Vgg19, content: RgbImage, style: RgbImage, size: number, optimizer: OptimizerName, target: number, maxSteps: number): Promise<Reached> {
  const params = resolveParams({ maxDim: size, epochs: 1, stepsPerEpoch: maxSteps, optimizer });
  const started = performance.now();
  let loss = Number.NaN;
  for await (const event of stylize(vgg, { content, styles: [style], params })) {
    const taken = event.kind === 'step' ? event.step - 1 : event.step;
    loss = event.losses.total;
    if (loss <= target) return { steps: taken, loss, ms: performance.now() - started };
  }
  return { steps: null, loss, ms: performance.now() - started };
}

export async function benchmarkOptimizers(backend: BackendInfo, options: { sizes: number[]; adamSteps: number; content: string; style: string }): Promise<Row[]> {
  const vgg = await loadVgg19();
  const rows: Row[] = [];
  for (const size of options.sizes) {
    const content = await image(options.content, 1, size);
    const style = await image(options.style, 2, size);
    // The target: where the tutorial's optimiser is after adamSteps steps (the epoch's loss, of that image).
    const adam = await until(vgg, content.image, style.image, size, 'adam', -Infinity, options.adamSteps);
    for (const [optimizer, reached] of [['adam', adam], ['lbfgs', await until(vgg, content.image, style.image, size, 'lbfgs', adam.loss, options.adamSteps)]] as const) {
      rows.push({
        bench: 'optimizers', backend: backend.backend, threads: backend.threads ?? '-', size, images: `${content.name}+${style.name}`,
        optimizer, targetLoss: round(adam.loss, 0), stepsToTarget: optimizer === 'adam' ? options.adamSteps : reached.steps ?? `>${options.adamSteps}`,
        secondsToTarget: round((optimizer === 'adam' ? adam.ms : reached.ms) / 1000, 1),
        msPerStep: round((optimizer === 'adam' ? adam.ms / options.adamSteps : reached.ms / Math.max(1, reached.steps ?? options.adamSteps)), 0),
      });
    }
  }
  vgg.dispose();
  return rows;
}
