/**
 * What starting from the fast-style network's result saves: at one size, a
 * content-initialised optimisation (the tutorial's settings) runs `steps`
 * steps and its total loss then, L, is the target; FAST_THEN_OPTIMIZE then
 * optimises from the network's result, towards the network's painting, and
 * counts the steps until its total loss is at most L (capped at `steps`).
 * Both optimise the same objective: the same content, painting and weights.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  decodeImage, fastStylizeContent, loadFastStyleNetwork, loadVgg19, locateFastStyleModels, resolveParams, stylize,
  type BackendInfo, type RgbImage, type StylizeInput,
} from '../src/engine';
import { peakRssMiB, round, syntheticImage, type Row } from './common';

/** The photo of the tutorial, from the checkout's sibling shared folder, when there. */
export const DEFAULT_CONTENT = resolve(__dirname, '../../../shared/images/tubingen.jpg');

export interface FastThenOptimiseOptions {
  size: number;
  steps: number;
  preset: string;
  /** An image file; a synthetic image when it does not exist. */
  content: string;
}

interface Reached {
  /** Steps taken when the loss was first at most the target; null if not within the cap. */
  steps: number | null;
  /** Total loss then (or at the cap). */
  loss: number;
  /** Total loss of the starting image. */
  startLoss: number;
  ms: number;
}

/** Optimises until the total loss is at most `target` (or for all the steps); `target` Infinity runs them all. */
async function optimiseUntil(vgg: Awaited<ReturnType<typeof loadVgg19>>, input: StylizeInput, target: number): Promise<Reached> {
  const started = performance.now();
  let startLoss = Number.NaN;
  let loss = Number.NaN;
  let steps: number | null = null;
  for await (const event of stylize(vgg, input)) {
    // A step event carries the losses of the image it started from: after step - 1 steps.
    const taken = event.kind === 'step' ? event.step - 1 : event.step;
    loss = event.losses.total;
    if (taken === 0) startLoss = loss;
    if (loss <= target) {
      steps = taken;
      break;
    }
  }
  return { steps, loss, startLoss, ms: performance.now() - started };
}

export async function benchmarkFastThenOptimise(backend: BackendInfo, options: FastThenOptimiseOptions): Promise<Row[]> {
  const { size, steps, preset } = options;
  const vgg = await loadVgg19();
  const presetDir = join(locateFastStyleModels(), preset);
  const network = await loadFastStyleNetwork(presetDir);
  const haveContent = existsSync(options.content);
  const content: RgbImage = haveContent ? await decodeImage(readFileSync(options.content)) : syntheticImage(size, 1);
  const painting = await decodeImage(readFileSync(join(presetDir, 'style.jpg')));
  const tutorial = resolveParams({ maxDim: size, epochs: 1, stepsPerEpoch: steps });

  const fromContent = await optimiseUntil(vgg, { content, styles: [painting], params: tutorial }, -Infinity);
  const fastStarted = performance.now();
  const initImage = fastStylizeContent(network, content, size);
  const fastMs = performance.now() - fastStarted;
  const fromFast = await optimiseUntil(vgg, {
    content, styles: [painting], params: { ...tutorial, mode: 'fast-then-optimize', preset }, initImage,
  }, fromContent.loss);
  network.dispose();
  vgg.dispose();
  return [{
    bench: 'fast-then-optimise', backend: backend.backend, size, preset,
    content: haveContent ? basename(options.content) : 'synthetic',
    contentStartLoss: round(fromContent.startLoss, 0),
    [`contentLoss${steps}`]: round(fromContent.loss, 0),
    contentMs: round(fromContent.ms, 0),
    fastStartLoss: round(fromFast.startLoss, 0),
    fastMs: round(fastMs),
    stepsToMatch: fromFast.steps ?? `>${steps}`,
    lossAtMatch: round(fromFast.loss, 0),
    fastThenOptimiseMs: round(fastMs + fromFast.ms, 0),
    peakRssMiB: peakRssMiB(),
  }];
}
