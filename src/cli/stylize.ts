import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  decodeImage, encodePng, flicker, initBackend, isFastMode, listFastStylePresets, loadFastStyleNetwork, loadVgg19, locateFastStyleModels, locateVgg19,
  paint, ParamError, presetStyles, probeImage, resolveParams, type RgbImage, type TransferParams,
} from '../engine';
import { engineThreads } from '../config';
import { MovingImages, type FrameSequence } from '../images/moving-images';
import { locateVideoTools } from '../images/video-tools';
import { checkPainted, loadApiLimits } from '../runs/limits';
import { command, UsageError, type CommandLine } from './args';
import { formatDuration, ProgressLine } from './progress';
import { runOnServer } from './remote-run';
import { remainingMs, type ContentReport, type EpochReport, type ResultReport, type RunReport } from './run-report';

export const STYLIZE_USAGE = `Usage: stylegraph stylize <content> <style> [<style>...] -o out.png [options]
       stylegraph stylize <content> --mode fast --preset NAME -o out.png

  The content may be an animated GIF or WebP, or an MP4 or WebM video: each
  frame is painted in turn, held to the previous one (temporal coherence), and
  the result is of the same kind (out.gif, out.webp, out.mp4, out.webm).

  -o, --output FILE        where to write the result (PNG for a still image)
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
  --temporal-weight W      how strongly each frame of an animation or a video is
                           held to the previous one, carried along the motion
                           (1e11; 0 paints each frame on its own)
  --multiscale N           optimise at N sizes, doubling up to max-dim (1)
  --pooling max|avg        VGG19 pooling (max)
  --mode optimize|fast|fast-then-optimize
                           optimise (Gatys et al.), one pass of a trained network,
                           or optimise from that pass (optimize)
  --preset NAME            the trained network of the fast modes (e.g. wave); its
                           painting is the style, so no style images are given
  --save-every N           also write the image every N epochs (out-epochN.png)
  --json                   one JSON object per epoch on stdout, nothing else
  --server URL             run on a stylegraph server (e.g. http://127.0.0.1:4000)
                           and follow its events instead of computing here
  --token TOKEN            the API token for --server, when it requires one
                           (STYLEGRAPH_AUTH=required); default: STYLEGRAPH_TOKEN
Weights: STYLEGRAPH_VGG19 (tfjs layers-model dir or Keras .h5) or the cache
(stylegraph weights fetch). Backend: STYLEGRAPH_BACKEND=tensorflow|wasm|cpu;
STYLEGRAPH_THREADS threads on the CPU (every core). Fast-style networks:
STYLEGRAPH_FAST_STYLE_MODELS.`;

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
  'temporal-weight': 'temporalWeight',
};

function flagOf(field: string): string {
  const root = field.split(/[.[]/)[0];
  const flag = Object.entries(NUMERIC_FLAGS).find(([, param]) => param === root)?.[0]
    ?? { output: 'output', init: 'init', styleBlend: 'style-blend', preserveColors: 'preserve-colors', pooling: 'pooling', optimizer: 'optimizer', mode: 'mode', preset: 'preset' }[root];
  return flag ? `--${flag}` : field;
}

function parseNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new UsageError(`--${flag}: "${text}" is not a number`);
  return value;
}

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  ...Object.fromEntries(Object.keys(NUMERIC_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
  init: { type: 'string' },
  'style-blend': { type: 'string' },
  'preserve-colors': { type: 'boolean' },
  pooling: { type: 'string' },
  optimizer: { type: 'string' },
  mode: { type: 'string' },
  preset: { type: 'string' },
  'save-every': { type: 'string' },
  json: { type: 'boolean' },
  server: { type: 'string' },
  token: { type: 'string' },
} as const;

function toCommandLine({ values, positionals }: CommandLine<typeof OPTIONS>) {
  const [content, ...styles] = positionals;
  const fast = values.mode !== undefined && isFastMode(values.mode as TransferParams['mode']);
  if (!content || (styles.length === 0 && !fast)) throw new UsageError('needs a content image and at least one style image');
  if (fast && styles.length > 0) throw new UsageError(`style images are left out in --mode ${values.mode}: the preset's painting is the style`);
  if (!values.output) throw new UsageError('needs -o/--output FILE');

  const partial: Partial<TransferParams> = {};
  for (const [flag, param] of Object.entries(NUMERIC_FLAGS)) {
    const text = (values as Record<string, unknown>)[flag] as string | undefined;
    if (text !== undefined) (partial as Record<string, number>)[param] = parseNumber(flag, text);
  }
  if (values.init !== undefined) partial.init = values.init as TransferParams['init'];
  if (values.pooling !== undefined) partial.pooling = values.pooling as TransferParams['pooling'];
  if (values.optimizer !== undefined) partial.optimizer = values.optimizer as TransferParams['optimizer'];
  if (values.mode !== undefined) partial.mode = values.mode as TransferParams['mode'];
  if (values.preset !== undefined) partial.preset = values.preset;
  if (values['preserve-colors']) partial.preserveColors = true;
  if (values['style-blend'] !== undefined) {
    partial.styleBlend = String(values['style-blend']).split(',').map((w) => parseNumber('style-blend', w));
  }
  const saveEvery = values['save-every'] === undefined ? 0 : parseNumber('save-every', String(values['save-every']));
  if (!Number.isInteger(saveEvery) || saveEvery < 0) throw new UsageError('--save-every: must be a whole number of epochs');
  if (values.token !== undefined && values.server === undefined) throw new UsageError('--token goes with --server URL');
  // An empty STYLEGRAPH_TOKEN counts as unset, as the other variables do.
  const token = values.token ?? (process.env.STYLEGRAPH_TOKEN || undefined);
  const server = values.server === undefined ? undefined : { url: values.server, token };
  return { content, styles, output: values.output, partial, saveEvery, json: Boolean(values.json), server };
}

type StylizeCommandLine = ReturnType<typeof toCommandLine>;

/** What went wrong with a file, saying which. */
function named(file: string): (error: Error) => never {
  return (error) => {
    throw new Error(`${file}: ${error.message}`);
  };
}

async function readImage(file: string) {
  return decodeImage(await readFile(file)).catch(named(file));
}

function epochFileName(output: string, epoch: number): string {
  const { dir, name } = path.parse(output);
  return path.join(dir, `${name}-epoch${epoch}.png`);
}

function formatLoss(value: number): string {
  return value.toExponential(3);
}

/**
 * The style of a fast mode: the painting the preset's network was trained on,
 * as the server takes it (none in mode fast when the network comes without it).
 */
async function presetPainting(params: TransferParams): Promise<RgbImage[]> {
  const folder = locateFastStyleModels();
  const presets = await listFastStylePresets(folder);
  const preset = presets.find((candidate) => candidate.name === params.preset);
  if (!preset) throw new ParamError('preset', `no fast-style network "${params.preset}" in ${folder}; there are: ${presets.map((p) => p.name).join(', ')}`);
  // Missing is the network's own choice; a painting that is there but unreadable is an error, as on the server.
  return presetStyles(params, existsSync(preset.stylePath) ? await readImage(preset.stylePath) : null);
}

/** The content as the engine paints it: a still image is one frame; an animation or a video also says how to join the painted frames back. */
interface Content extends ContentReport {
  images: RgbImage[];
  join?: FrameSequence['join'];
}

/** Refused as the server refuses it (checkPainted, the animation limits), naming the file. */
async function readContent(file: string): Promise<Content> {
  const bytes = await readFile(file);
  const moving = new MovingImages(locateVideoTools());
  const info = (await moving.probe(bytes, file, loadApiLimits())) ?? { ...(await probeImage(bytes).catch(named(file))), frames: 1 };
  checkPainted(info, file, true);
  if (info.frames === 1) return { mimeType: info.mimeType, frames: 1, images: [await decodeImage(bytes).catch(named(file))] };
  const { frames, join } = await moving.read(bytes);
  const images: RgbImage[] = [];
  for (const frame of frames) images.push(await decodeImage(frame));
  return { mimeType: info.mimeType, frames: images.length, images, join };
}

/**
 * Runs the transfer in this process, on the engine. The frames of an
 * animation or a video are painted one after the other, each held to the
 * one before it (the engine's `previous`), their epochs numbered over the
 * whole run as a server numbers them; then joined as the content's kind.
 */
async function* runHere(line: StylizeCommandLine, params: TransferParams): AsyncGenerator<RunReport> {
  const source = locateVgg19();
  const [backend, content, styles] = await Promise.all([
    initBackend({ threads: engineThreads(process.env, 1) }),
    readContent(line.content),
    isFastMode(params.mode) ? presetPainting(params) : Promise.all(line.styles.map(readImage)),
  ]);
  yield { kind: 'content', content: { mimeType: content.mimeType, frames: content.frames } };
  const vgg = await loadVgg19(source);
  console.error(`stylegraph: backend ${backend.backend} on ${backend.device}; VGG19 from ${source.path}`);
  const { frames } = content;
  const painted: RgbImage[] = [];
  try {
    const network = (preset: string) => loadFastStyleNetwork(path.join(locateFastStyleModels(), preset));
    let elapsedBefore = 0;
    for (const [index, image] of content.images.entries()) {
      const previous = index > 0 ? { content: content.images[index - 1], result: painted[index - 1] } : undefined;
      let last: { image: RgbImage; elapsedMs: number } | undefined;
      for await (const event of paint(vgg, { content: image, styles, params, network, previous })) {
        const stepsBefore = index * event.totalSteps;
        if (event.kind === 'step') {
          yield { kind: 'step', step: { step: stepsBefore + event.step, totalSteps: frames * event.totalSteps, loss: event.losses.total } };
          continue;
        }
        last = event;
        const { image: picture, ...rest } = event;
        const ofRun = { epoch: index * event.epochs + event.epoch, epochs: frames * event.epochs, elapsedMs: elapsedBefore + event.elapsedMs };
        yield {
          kind: 'epoch',
          epoch: {
            ...rest, ...ofRun, frame: index + 1, step: stepsBefore + event.step, totalSteps: frames * event.totalSteps,
            etaMs: frames === 1 ? event.etaMs : remainingMs(ofRun.elapsedMs, ofRun.epoch, ofRun.epochs),
            width: picture.width, height: picture.height, png: async () => encodePng(picture),
          },
        };
      }
      if (!last) throw new Error('the run produced no epoch');
      painted.push(last.image);
      elapsedBefore += last.elapsedMs;
    }
  } finally {
    vgg.dispose();
  }
  yield { kind: 'result', result: await resultOf(content, painted) };
}

async function resultOf(content: Content, painted: RgbImage[]): Promise<ResultReport> {
  if (!content.join) return { mimeType: 'image/png', frames: 1, flicker: null, bytes: async () => encodePng(painted[0]) };
  const pngs: Uint8Array[] = [];
  for (const image of painted) pngs.push(await encodePng(image));
  const { bytes, mimeType } = await content.join(pngs);
  return { mimeType, frames: painted.length, flicker: flicker(content.images, painted), bytes: async () => bytes };
}

/** What an output file of each moving kind is named with. */
const EXTENSIONS: Record<string, string> = { 'image/gif': '.gif', 'image/webp': '.webp', 'video/mp4': '.mp4', 'video/webm': '.webm' };

/** The result of an animation or a video is of the content's kind: refused before anything is painted when the output says otherwise. */
function checkOutput(output: string, content: ContentReport): void {
  if (content.frames === 1) return;
  const extension = EXTENSIONS[content.mimeType];
  if (path.extname(output).toLowerCase() !== extension) {
    throw new ParamError('output', `the content has ${content.frames} frames (${content.mimeType}), and so will the result: name it *${extension}`);
  }
}

/** Shows progress (a bar on a terminal, a line or a JSON object per epoch) and writes the result. */
async function report(line: StylizeCommandLine, params: TransferParams, reports: AsyncIterable<RunReport>): Promise<void> {
  const progress = new ProgressLine();
  let last: EpochReport | undefined;
  let frames = 1;
  for await (const item of reports) {
    if (item.kind === 'content') {
      checkOutput(line.output, item.content);
      frames = item.content.frames;
      continue;
    }
    if (item.kind === 'result') {
      const { result } = item;
      await writeFile(line.output, await result.bytes());
      if (!line.json) {
        const about = result.frames > 1 ? ` (${result.frames} frames, flicker ${result.flicker?.toFixed(2) ?? 'not measured'})` : '';
        console.error(`stylegraph: wrote ${line.output}${about}`);
      }
      return;
    }
    if (item.kind === 'step') {
      if (progress.interactive && !line.json) {
        const { step, totalSteps, loss } = item.step;
        progress.draw(step / totalSteps,
          `epoch ${Math.ceil(step / params.stepsPerEpoch)}/${params.epochs * frames} step ${step}/${totalSteps} loss ${formatLoss(loss)}` +
          (last ? ` ETA ${formatDuration(last.etaMs)}` : ''));
      }
      continue;
    }
    const epoch = (last = item.epoch);
    const { losses } = epoch;
    const moving = frames > 1;
    if (line.json) {
      console.log(JSON.stringify({
        epoch: epoch.epoch, step: epoch.step, ...(moving && { frame: epoch.frame, frames }), total: losses.total, content: losses.content,
        style: losses.style, tv: losses.totalVariation, ...(moving && { temporal: losses.temporal }), ms: Math.round(epoch.elapsedMs),
        width: epoch.width, height: epoch.height, optimizer: params.optimizer,
      }));
    } else {
      if (progress.interactive) progress.draw(epoch.step / epoch.totalSteps, '');
      progress.done();
      console.error(`${moving ? `frame ${epoch.frame}/${frames}  ` : ''}epoch ${epoch.epoch}/${epoch.epochs}  step ${epoch.step}  total ${formatLoss(losses.total)}  ` +
        `content ${formatLoss(losses.content)}  style ${formatLoss(losses.style)}  tv ${formatLoss(losses.totalVariation)}  ` +
        `${moving ? `temporal ${formatLoss(losses.temporal)}  ` : ''}${formatDuration(epoch.elapsedMs)} elapsed, ETA ${formatDuration(epoch.etaMs)}`);
    }
    if (line.saveEvery > 0 && epoch.epoch % line.saveEvery === 0 && epoch.epoch < epoch.epochs) {
      await writeFile(epochFileName(line.output, epoch.epoch), await epoch.png());
    }
  }
  throw new Error(last ? 'the run ended without a result' : 'the run produced no epoch');
}

export const stylizeCommand = command({
  name: 'stylize',
  usage: STYLIZE_USAGE,
  options: OPTIONS,
  positionals: true,
  run: async (commandLine) => {
    const line = toCommandLine(commandLine);
    try {
      const params = resolveParams(line.partial);
      const reports = line.server
        ? runOnServer(line.server, { content: line.content, styles: line.styles }, line.partial)
        : runHere(line, params);
      await report(line, params, reports);
      return 0;
    } catch (error) {
      // A bad parameter, found here or by the server: named by its flag, without the whole usage.
      if (!(error instanceof ParamError)) throw error;
      console.error(`stylegraph stylize: ${flagOf(error.field)}: ${error.problem}`);
      return 2;
    }
  },
});
