/**
 * The body of an engine thread (node:worker_threads): the optimisation is
 * CPU- or GPU-bound for minutes, so it runs here and the process that serves
 * requests stays responsive. Loads VGG19 once, then runs one job at a time.
 */
import { memory } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import {
  decodeImage, encodePng, initBackend, loadFastStyleNetwork, loadVgg19, largestFittingMaxDim, listFastStylePresets, locateFastStyleModels,
  flicker, measureEngineSpeed, optimizerStateArrays, paint, WasmMemoryError, type Checkpoint, type EpochEvent, type FastStyleNetwork, type PreviousFrame, type RgbImage,
  type TransferParams, type Vgg19,
} from '../engine/index.js';
import type { EngineJob, EngineThreadData, FlickerJob, FromEngine, ToEngine } from './engine-protocol.js';
import { StepSampler } from './step-sampler.js';

const port = parentPort!;
const post = (message: FromEngine, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Step durations not reported yet (see EngineStats). */
const stepMs: number[] = [];

function postStats(): void {
  const { numTensors, numBytes } = memory();
  post({ type: 'stats', stats: { numTensors, numBytes, stepMs: stepMs.splice(0) } });
}

/** Fast-style networks by preset, loaded on first use and kept (a few MB each). */
const networks = new Map<string, Promise<FastStyleNetwork>>();

function fastStyleNetwork(preset: string): Promise<FastStyleNetwork> {
  let network = networks.get(preset);
  if (!network) {
    network = loadFastStyleNetwork(join(locateFastStyleModels(), preset));
    networks.set(preset, network);
    // A failed load is not kept: the folder may be mended.
    network.catch(() => networks.delete(preset));
  }
  return network;
}

/** A checkpoint's arrays are moved to the worker, not copied. */
function checkpointBuffers(checkpoint: Checkpoint): ArrayBuffer[] {
  return [checkpoint.image, ...optimizerStateArrays(checkpoint.optimizer)].map((array) => array.buffer as ArrayBuffer);
}

async function postEpoch(epoch: EpochEvent): Promise<void> {
  const png = new Uint8Array(await encodePng(epoch.image));
  const { checkpoint } = epoch;
  const buffers = checkpoint ? checkpointBuffers(checkpoint) : [];
  post(
    {
      type: 'epoch',
      epoch: {
        epoch: epoch.epoch,
        step: epoch.step,
        losses: epoch.losses,
        layers: epoch.layers,
        elapsedMs: epoch.elapsedMs,
        preview: { png, width: epoch.image.width, height: epoch.image.height },
        checkpoint,
      },
    },
    // Moved, not copied; a buffer may back more than one array, and may be listed once only.
    [...new Set([png.buffer, ...buffers])] as ArrayBuffer[],
  );
}

/**
 * A failure in words a user understands. The memory model refuses runs too
 * large before they start; should one still run out of WebAssembly memory,
 * or the WebAssembly code abort, the run fails with this and the worker
 * replaces the thread (its heap may be corrupt).
 */
function failureMessage(err: unknown, params: TransferParams, content: RgbImage, styles: RgbImage[]): string {
  if (err instanceof WasmMemoryError) {
    // The model thought it fitted: say no more than what is surely smaller.
    const fitting = Math.min(largestFittingMaxDim(params, content, styles, 'wasm'), Math.floor(params.maxDim * 0.9));
    return `the image is too large for this server's WebAssembly memory (4 GiB); the largest that fits is about ${fitting} px (maxDim)`;
  }
  const message = err instanceof Error ? err.message : String(err);
  if ((err instanceof Error && err.name === 'RuntimeError') || /^Aborted\(/.test(message)) {
    return `the engine failed inside WebAssembly (${message.replace(/\. Build with -sASSERTIONS.*$/, '')}); its thread is replaced before the next run`;
  }
  return message;
}

/** The one place the worker calls the engine. */
async function runJob(vgg: Vgg19, job: EngineJob, signal: AbortSignal): Promise<void> {
  const content = await decodeImage(job.content);
  // One after the other: decoding holds a large image's buffers beside its pixels.
  const styles: RgbImage[] = [];
  for (const bytes of job.styles) styles.push(await decodeImage(bytes));
  const previous = job.previous && { content: await decodeImage(job.previous.content), result: await decodeImage(job.previous.result) };
  try {
    await runDecoded(vgg, job, content, styles, previous, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new Error(failureMessage(err, job.params, content, styles));
  }
}

async function runDecoded(
  vgg: Vgg19, job: EngineJob, content: RgbImage, styles: RgbImage[], previous: PreviousFrame | undefined, signal: AbortSignal,
): Promise<void> {
  // Sent on any abort; the worker keeps it when it is shutting down (to lose none of the epoch's steps).
  const onAbortCheckpoint = (checkpoint: Checkpoint) =>
    post({ type: 'aborted', checkpoint }, [...new Set(checkpointBuffers(checkpoint))]);
  const input = { content, styles, previous, params: job.params, resume: job.resume, signal, onAbortCheckpoint, network: fastStyleNetwork };
  const steps = new StepSampler();
  for await (const event of paint(vgg, input)) {
    if (event.kind === 'step') {
      // Timed by the engine, the first step too; each is held here once, until the next stats take it.
      stepMs.push(event.ms);
      const sampled = steps.sample(event);
      if (sampled) post({ type: 'step', step: sampled });
      continue;
    }
    await postEpoch(event);
    postStats();
  }
}

/** Here, not in the worker's thread: an optical flow per pair of frames takes a good part of a second at 512 px. */
async function measureFlicker(job: FlickerJob): Promise<number | null> {
  const decode = async (frames: Uint8Array[]) => {
    const decoded: RgbImage[] = [];
    for (const frame of frames) decoded.push(await decodeImage(frame));
    return decoded;
  };
  return flicker(await decode(job.contents), await decode(job.results));
}

/** The first fast-style network there is, to time a pass of; none without a models folder. */
async function anyFastStyleNetwork(): Promise<FastStyleNetwork | undefined> {
  try {
    const [first] = await listFastStylePresets(locateFastStyleModels());
    return first && (await fastStyleNetwork(first.name));
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { backend, device, threads } = await initBackend({ threads: (workerData as EngineThreadData).threads });
  const vgg = await loadVgg19();
  // Measured before the first job, so that estimates of runs on this server rest on its own step times.
  const speed = measureEngineSpeed(vgg, await anyFastStyleNetwork());
  let current: AbortController | undefined;
  port.on('message', (message: ToEngine) => {
    if (message.type === 'abort') {
      current?.abort();
      return;
    }
    if (message.type === 'flicker') {
      measureFlicker(message.job).then(
        (value) => post({ type: 'flicker', flicker: value }),
        (err: Error) => post({ type: 'failed', message: `measuring the flicker: ${err.message}` }),
      );
      return;
    }
    const controller = (current = new AbortController());
    runJob(vgg, message.job, controller.signal).then(
      () => {
        postStats();
        post({ type: 'finished' });
      },
      (err: Error) => {
        postStats();
        post({ type: 'failed', message: err.message });
      },
    ).finally(() => {
      if (current === controller) current = undefined;
    });
  });
  post({ type: 'ready', backend, device, threads, speed });
  postStats();
}

main().catch((err: Error) => {
  post({ type: 'failed', message: `the engine could not start: ${err.message}` });
  process.exit(1);
});
