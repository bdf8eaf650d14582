/**
 * Stylegraph against the tool a user would pick instead: the tutorial in
 * PyTorch (bench/peers/pytorch-tutorial.py, on the same VGG19 weights and
 * images), on this machine in this run. Step time with Adam, and the time
 * to reach the loss PyTorch's Adam reaches after 300 steps: ours with
 * L-BFGS, PyTorch's with torch.optim.LBFGS. Needs a python3 with torch
 * (PYTHON, else python3; Debian's python3-torch will do). Minutes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeImage, loadVgg19, locateVgg19, resolveParams, stylize, type BackendInfo, type RgbImage } from '../src/engine';
import { median, round, type Row } from './common';

const run = promisify(execFile);
const SCRIPT = path.join(__dirname, '../../bench/peers/pytorch-tutorial.py');

interface PeerResult {
  peer: string;
  threads: number;
  stepMs?: number;
  steps?: number;
  seconds?: number;
  finalLoss?: number;
  reached?: { evaluations: number; seconds: number } | null;
}

async function pytorch(args: string[]): Promise<PeerResult> {
  const python = process.env.PYTHON ?? 'python3';
  const { stdout } = await run(python, [SCRIPT, ...args], { maxBuffer: 1 << 20, timeout: 3_600_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PeerResult;
}

export async function benchmarkPeers(backend: BackendInfo, options: { content: string; style: string; size: number; adamSteps: number }): Promise<Row[]> {
  for (const file of [options.content, options.style]) if (!existsSync(file)) throw new Error(`the peers benchmark needs ${file}`);
  const source = locateVgg19();
  if (source.kind !== 'layers-model') throw new Error('the PyTorch peer reads the tfjs layers model: point STYLEGRAPH_VGG19 at one');
  const threads = backend.threads ?? os.availableParallelism();
  const common = ['--vgg', source.path, '--content', options.content, '--style', options.style, '--max-dim', String(options.size), '--threads', String(threads)];

  const vgg = await loadVgg19(source);
  const [content, style]: RgbImage[] = await Promise.all([options.content, options.style].map((file) => decodeImage(readFileSync(file))));
  /** Our steps: their median time, and when the loss was first at most `target`. */
  const ours = async (optimizer: 'adam' | 'lbfgs', steps: number, target = -Infinity) => {
    const params = resolveParams({ maxDim: options.size, epochs: 1, stepsPerEpoch: steps, optimizer });
    const started = performance.now();
    const stepMs: number[] = [];
    let last = started;
    for await (const event of stylize(vgg, { content, styles: [style], params })) {
      const now = performance.now();
      if (event.kind === 'step' && event.step > 2) stepMs.push(now - last);
      last = now;
      if (event.losses.total <= target) return { stepMs: median(stepMs), steps: event.kind === 'step' ? event.step - 1 : event.step, seconds: (now - started) / 1000 };
    }
    return { stepMs: median(stepMs), steps: null, seconds: (performance.now() - started) / 1000 };
  };

  const ourStep = (await ours('adam', 7)).stepMs;
  const theirStep = (await pytorch([...common, '--time-steps', '5'])).stepMs!;
  const theirAdam = await pytorch([...common, '--steps', String(options.adamSteps)]);
  const target = theirAdam.finalLoss!;
  const ourLbfgs = await ours('lbfgs', options.adamSteps, target);
  const theirLbfgs = await pytorch([...common, '--optimizer', 'lbfgs', '--steps', String(options.adamSteps), '--target', String(target)]);
  vgg.dispose();

  const theirLbfgsSeconds = theirLbfgs.reached?.seconds ?? null;
  return [
    { bench: 'peers', what: 'Adam step', stylegraphMs: round(ourStep, 0), pytorchMs: round(theirStep, 0), ratio: round(ourStep / theirStep, 2), threads, size: options.size },
    {
      bench: 'peers', what: `to PyTorch Adam's loss after ${options.adamSteps} steps (${round(target, 0)})`,
      stylegraphLbfgs: `${ourLbfgs.steps ?? `>${options.adamSteps}`} steps, ${round(ourLbfgs.seconds, 1)} s`,
      pytorchAdam: `${options.adamSteps} steps, ${round(theirAdam.seconds!, 1)} s`,
      pytorchLbfgs: theirLbfgs.reached ? `${theirLbfgs.reached.evaluations} evaluations, ${round(theirLbfgs.reached.seconds, 1)} s` : `not within ${options.adamSteps}`,
      ratioToPytorchAdam: round(ourLbfgs.seconds / theirAdam.seconds!, 2),
      ratioToPytorchLbfgs: theirLbfgsSeconds === null ? '-' : round(ourLbfgs.seconds / theirLbfgsSeconds, 2),
    },
  ];
}
