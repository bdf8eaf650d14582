import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  decodeImage, encodePng, initBackend, loadVgg19, locateVgg19, ParamError, resolveParams,
  stylize, type Losses, type TransferParams,
} from '../engine';
import { engineThreads } from '../config';
import { formatDuration, ProgressLine } from './progress';
import { runOnServer } from './remote-run';

export const STYLIZE_USAGE = `Usage: stylegraph stylize <content> <style> [<style>...] -o out.png [options]

  -o, --output FILE        where to write the result (PNG)
  --max-dim N              longer image side in pixels (512)
  --epochs N               epochs (10)
  --steps-per-epoch N      optimisation steps per epoch (100)
  --content-weight W       (1e4)     --style-weight W   (1e-2)
  --tv-weight W            total-variation weight (30)
  --optimizer adam|lbfgs   Adam (the tutorial's) or L-BFGS, fewer steps to the same loss (adam)
  --lr R                   learning rate (0.02 for adam, 1 for lbfgs)
  --lbfgs-history N        curvature pairs L-BFGS keeps (100)
  --init content|noise|style   starting image (content)
  --seed N                 seed for --init noise (0)
  --style-blend W,W,...    one weight per style image (equal)
  --style-scale S          style images at S x max-dim (1)
  --preserve-colors        keep the content's colours (luminance-only transfer)
  --multiscale N           optimise at N sizes, doubling up to max-dim (1)
  --pooling max|avg        VGG19 pooling (max)
  --save-every N           also write the image every N epochs (out-epochN.png)
  --json                   one JSON object per epoch on stdout, nothing else
  --server URL             run on a stylegraph server (e.g. http://127.0.0.1:4000)
                           and follow its events instead of computing here
Weights: STYLEGRAPH_VGG19 (tfjs layers-model dir or Keras .h5) or the cache
(stylegraph weights fetch). Backend: STYLEGRAPH_BACKEND=tensorflow|wasm|cpu;
STYLEGRAPH_THREADS threads on the CPU (every core).`;

/** Command-line flag -> parameter, so that errors name the flag the user typed. */
const NUMERIC_FLAGS: Record<string, keyof TransferParams> = {
  'max-dim': 'maxDim',
  epochs: 'epochs',
  'steps-per-epoch': 'stepsPerEpoch',
  'content-weight': 'contentWeight',
  'style-weight': 'styleWeight',
  'tv-weight': 'totalVariationWeight',
  lr: 'learningRate',
  seed: 'seed',
  'style-scale': 'styleScale',
  multiscale: 'multiscale',
  'lbfgs-history': 'lbfgsHistory',
};

class UsageError extends Error {}

function flagOf(field: string): string {
  const root = field.split(/[.[]/)[0];
  const flag = Object.entries(NUMERIC_FLAGS).find(([, param]) => param === root)?.[0]
    ?? { init: 'init', styleBlend: 'style-blend', preserveColors: 'preserve-colors', pooling: 'pooling', optimizer: 'optimizer' }[root];
  return flag ? `--${flag}` : field;
}

function parseNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new UsageError(`--${flag}: "${text}" is not a number`);
  return value;
}

function parseCommandLine(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      ...Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      init: { type: 'string' },
      'style-blend': { type: 'string' },
      'preserve-colors': { type: 'boolean' },
      pooling: { type: 'string' },
      optimizer: { type: 'string' },
      'save-every': { type: 'string' },
      json: { type: 'boolean' },
      server: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true as const };
  const [content, ...styles] = positionals;
  if (!content || styles.length === 0) throw new UsageError('needs a content image and at least one style image');
  if (!values.output) throw new UsageError('needs -o/--output FILE');

  const partial: Partial<TransferParams> = {};
  for (const [flag, param] of Object.entries(NUMERIC_FLAGS)) {
    const text = (values as Record<string, unknown>)[flag] as string | undefined;
    if (text !== undefined) (partial as Record<string, number>)[param] = parseNumber(flag, text);
  }
  if (values.init !== undefined) partial.init = values.init as TransferParams['init'];
  if (values.pooling !== undefined) partial.pooling = values.pooling as TransferParams['pooling'];
  if (values.optimizer !== undefined) partial.optimizer = values.optimizer as TransferParams['optimizer'];
  if (values['preserve-colors']) partial.preserveColors = true;
  if (values['style-blend'] !== undefined) {
    partial.styleBlend = String(values['style-blend']).split(',').map((w) => parseNumber('style-blend', w));
  }
  const saveEvery = values['save-every'] === undefined ? 0 : parseNumber('save-every', String(values['save-every']));
  if (!Number.isInteger(saveEvery) || saveEvery < 0) throw new UsageError('--save-every: must be a whole number of epochs');
  return {
    help: false as const, content, styles, output: values.output, partial, saveEvery,
    json: Boolean(values.json), server: values.server,
  };
}

type StylizeCommandLine = Exclude<ReturnType<typeof parseCommandLine>, { help: true }>;

async function readImage(file: string) {
  try {
    return await decodeImage(await readFile(file));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

function epochFileName(output: string, epoch: number): string {
  const { dir, name } = path.parse(output);
  return path.join(dir, `${name}-epoch${epoch}.png`);
}

function formatLoss(value: number): string {
  return value.toExponential(3);
}

/** What the command shows and saves of an epoch, wherever the run happens. */
export interface EpochReport {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  losses: Losses;
  elapsedMs: number;
  etaMs: number;
  /** The size optimised in this epoch (multiscale changes it). */
  width: number;
  height: number;
  /** The image at the end of the epoch, as PNG. */
  png(): Promise<Uint8Array>;
}

/** Progress between epochs (steps here; nothing from a server). */
export interface StepReport {
  step: number;
  totalSteps: number;
  loss: number;
}

export type RunReport = { kind: 'epoch'; epoch: EpochReport } | { kind: 'step'; step: StepReport };

/** Runs the transfer in this process, on the engine. */
async function* runHere(command: StylizeCommandLine, params: TransferParams): AsyncGenerator<RunReport> {
  const source = locateVgg19();
  const [backend, content, styles] = await Promise.all([
    initBackend({ threads: engineThreads(process.env, 1) }),
    readImage(command.content),
    Promise.all(command.styles.map(readImage)),
  ]);
  const vgg = await loadVgg19(source);
  console.error(`stylegraph: backend ${backend.backend} on ${backend.device}; VGG19 from ${source.path}`);
  try {
    for await (const event of stylize(vgg, { content, styles, params })) {
      if (event.kind === 'step') {
        yield { kind: 'step', step: { step: event.step, totalSteps: event.totalSteps, loss: event.losses.total } };
      } else {
        const { image, ...rest } = event;
        yield { kind: 'epoch', epoch: { ...rest, width: image.width, height: image.height, png: async () => encodePng(image) } };
      }
    }
  } finally {
    vgg.dispose();
  }
}

/** Shows progress (a bar on a terminal, a line or a JSON object per epoch) and writes the images. */
async function report(command: StylizeCommandLine, params: TransferParams, reports: AsyncIterable<RunReport>): Promise<void> {
  const progress = new ProgressLine();
  let last: EpochReport | undefined;
  for await (const item of reports) {
    if (item.kind === 'step') {
      if (progress.interactive && !command.json) {
        const { step, totalSteps, loss } = item.step;
        progress.draw(step / totalSteps,
          `epoch ${Math.ceil(step / params.stepsPerEpoch)}/${params.epochs} step ${step}/${totalSteps} loss ${formatLoss(loss)}` +
          (last ? ` ETA ${formatDuration(last.etaMs)}` : ''));
      }
      continue;
    }
    const epoch = (last = item.epoch);
    const { losses } = epoch;
    if (command.json) {
      console.log(JSON.stringify({
        epoch: epoch.epoch, step: epoch.step, total: losses.total, content: losses.content,
        style: losses.style, tv: losses.totalVariation, ms: Math.round(epoch.elapsedMs),
        width: epoch.width, height: epoch.height, optimizer: params.optimizer,
      }));
    } else {
      if (progress.interactive) progress.draw(epoch.step / epoch.totalSteps, '');
      progress.done();
      console.error(`epoch ${epoch.epoch}/${epoch.epochs}  step ${epoch.step}  total ${formatLoss(losses.total)}  ` +
        `content ${formatLoss(losses.content)}  style ${formatLoss(losses.style)}  tv ${formatLoss(losses.totalVariation)}  ` +
        `${formatDuration(epoch.elapsedMs)} elapsed, ETA ${formatDuration(epoch.etaMs)}`);
    }
    if (command.saveEvery > 0 && epoch.epoch % command.saveEvery === 0 && epoch.epoch < epoch.epochs) {
      await writeFile(epochFileName(command.output, epoch.epoch), await epoch.png());
    }
  }
  if (!last) throw new Error('the run produced no epoch');
  await writeFile(command.output, await last.png());
  if (!command.json) console.error(`stylegraph: wrote ${command.output}`);
}

/** Bad input from the user: a message naming the flag and exit code 2; other errors propagate. */
function refusal(error: unknown): number | undefined {
  if (error instanceof ParamError) {
    console.error(`stylegraph stylize: ${flagOf(error.field)}: ${error.message.slice(error.field.length + 2)}`);
    return 2;
  }
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`stylegraph stylize: ${(error as Error).message}\n\n${STYLIZE_USAGE}`);
    return 2;
  }
  return undefined;
}

export async function stylizeCommand(args: string[]): Promise<number> {
  try {
    const command = parseCommandLine(args);
    if (command.help) {
      console.log(STYLIZE_USAGE);
      return 0;
    }
    const params = resolveParams(command.partial);
    const reports = command.server
      ? runOnServer(command.server, { content: command.content, styles: command.styles }, command.partial)
      : runHere(command, params);
    await report(command, params, reports);
    return 0;
  } catch (error) {
    const code = refusal(error);
    if (code === undefined) throw error;
    return code;
  }
}
