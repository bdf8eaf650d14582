/**
 * One measurement of bench/memory.ts, in a worker thread of its own (a wasm
 * heap only grows, so each size needs a fresh one): the heap's size after
 * an optimisation of a synthetic content image of `width` x `height` (two
 * epochs of two steps, so checkpoints and epoch losses are in), or after the
 * style targets of a style image `width` px square.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, loadVgg19, resolveParams, stylize, type OptimizerName } from '../src/engine';
import { syntheticImage } from './common';

export interface MemoryProbe {
  kind: 'step' | 'style';
  /** The content's size (kind 'step') or the style's side (kind 'style'). */
  width: number;
  height: number;
  optimizer: OptimizerName;
}

export interface MemoryProbeResult extends MemoryProbe {
  /** The heap after the backend started and VGG19 was loaded, and at the end. */
  baseBytes: number;
  heapBytes: number;
  error?: string;
}

function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

async function probe({ kind, width, height, optimizer }: MemoryProbe): Promise<MemoryProbeResult> {
  await initBackend({ backend: 'wasm' });
  const vgg = await loadVgg19();
  const baseBytes = heapBytes();
  const rectangle = (w: number, h: number, seed: number) => {
    const square = syntheticImage(Math.max(w, h), seed);
    return { width: w, height: h, data: square.data.subarray(0, w * h * 3) };
  };
  // A style probe optimises a small content (1/64 of the pixels) against a style 8 times as large.
  const params = kind === 'step'
    ? resolveParams({ maxDim: Math.max(width, height), epochs: 2, stepsPerEpoch: 2, optimizer })
    : resolveParams({ maxDim: width / 8, epochs: 1, stepsPerEpoch: 1, styleScale: 8 });
  const content = kind === 'step' ? rectangle(width, height, 1) : syntheticImage(width / 8, 1);
  const style = kind === 'step' ? rectangle(width, height, 2) : syntheticImage(width, 2);
  try {
    for await (const event of stylize(vgg, { content, styles: [style], params })) void event;
    return { kind, width, height, optimizer, baseBytes, heapBytes: heapBytes() };
  } catch (err) {
    return { kind, width, height, optimizer, baseBytes, heapBytes: heapBytes(), error: (err as Error).message };
  }
}

void probe(workerData as MemoryProbe).then((result) => parentPort!.postMessage(result));
