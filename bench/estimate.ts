/**
 * How close estimateRun's time model comes: the engine measures itself as a
 * worker's engine thread does when it starts, then runs of several shapes
 * are estimated (with no correction from earlier runs: the worst case) and
 * run, on the tutorial's pair.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeImage, estimateRunTime, listFastStylePresets, loadFastStyleNetwork, loadVgg19, locateFastStyleModels, measureEngineSpeed,
  resolveParams, stylize, type BackendInfo, type PartialParams, type RgbImage,
} from '../src/engine';
import { round, syntheticImage, type Row } from './common';

const SHAPES: PartialParams[] = [
  { maxDim: 128, epochs: 3, stepsPerEpoch: 10 },
  { maxDim: 256, epochs: 2, stepsPerEpoch: 10, optimizer: 'lbfgs' },
  { maxDim: 256, epochs: 4, stepsPerEpoch: 5, multiscale: 2 },
  { maxDim: 384, epochs: 1, stepsPerEpoch: 8 },
];

export async function benchmarkEstimate(backend: BackendInfo, options: { content: string; style: string }): Promise<Row[]> {
  const vgg = await loadVgg19();
  const load = (file: string, seed: number): Promise<RgbImage> => existsSync(file) ? decodeImage(readFileSync(file)) : Promise.resolve(syntheticImage(512, seed));
  const [content, style] = await Promise.all([load(options.content, 1), load(options.style, 2)]);
  let network;
  try {
    const [first] = await listFastStylePresets(locateFastStyleModels());
    network = first && (await loadFastStyleNetwork(join(locateFastStyleModels(), first.name)));
  } catch {
    network = undefined;
  }
  const calibrationStarted = performance.now();
  const speed = measureEngineSpeed(vgg, network);
  const calibrationMs = performance.now() - calibrationStarted;
  const rows: Row[] = [];
  for (const shape of SHAPES) {
    const params = resolveParams(shape);
    const predicted = estimateRunTime(params, content, [style], speed).ms;
    const started = performance.now();
    for await (const event of stylize(vgg, { content, styles: [style], params })) void event;
    const actual = performance.now() - started;
    rows.push({
      bench: 'estimate', backend: backend.backend, threads: backend.threads ?? '-', maxDim: params.maxDim, optimizer: params.optimizer,
      steps: params.epochs * params.stepsPerEpoch, multiscale: params.multiscale, estimatedS: round(predicted / 1000, 1), actualS: round(actual / 1000, 1),
      estimateOverActual: round(predicted / actual, 2), calibrationS: round(calibrationMs / 1000, 1),
    });
  }
  network?.dispose();
  vgg.dispose();
  return rows;
}
