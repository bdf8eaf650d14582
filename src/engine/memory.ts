/**
 * What a run needs of memory, from the sizes it works at: a model measured
 * on the WebAssembly backend (`npm run bench -- --only memory` measures it
 * again and prints the model beside each measurement). The wasm heap is at
 * most 4 GiB and running out of it is silent in tfjs (backend.ts guards
 * it), so a run that would not fit is refused before it starts.
 *
 * The heap's high-water mark grows with the pixels of the largest image the
 * engine holds at once, in three phases that do not overlap: an
 * optimisation step (the forward activations plus the backward pass's few
 * live gradients, and what the allocator cannot reuse of them), the forward
 * pass over each style image (at styleScale times the size optimised), and
 * the decoded source images before they are scaled.
 */
import type { BackendName } from './types';
import type { OptimizerName } from './params';
import { ParamError, type TransferParams } from './params';
import { fitSize } from './pixels';
import { styleMaxDim, type ImageFields, type ImageSize } from './transfer';

// Fitted to the heap's high-water mark measured after runs of 256x192 to
// 896x672 px and style images of 1024 and 1536 px square (tfjs 4.22.0, two
// threads; `npm run bench -- --only memory`), rounded up: the model is above
// every measurement by 4 to 50 %. Measured: a step at 880x880 px took the
// heap to 3.7 GiB; 1024x1024 px and a 1536 px style image ran out of it.
/** The heap VGG19 and its kernels hold (172 MiB), with what the allocator keeps beside the per-pixel blocks. */
const BASE_HEAP_BYTES = 400 * 2 ** 20;
/** Heap per pixel optimised, one step with its epoch's losses and checkpoint (Adam or L-BFGS, which keeps its history outside the heap). */
const STEP_HEAP_BYTES_PER_PIXEL = 4800;
/** Heap per pixel of a style image: its forward pass to block5_conv1 and its Gram matrices. */
const STYLE_HEAP_BYTES_PER_PIXEL = 2100;
/** Heap per pixel of a decoded source image: its float pixels and its scaled copy. */
const INPUT_HEAP_BYTES_PER_PIXEL = 24;
/** A process's own memory beside the heap: Node, the fast-style networks, buffers. */
const PROCESS_BASE_BYTES = 400 * 2 ** 20;

/** The most memory the WebAssembly backend can have: wasm32 addresses 4 GiB (emscripten's limit, 64 KiB short of it). */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

export interface MemoryDemand {
  backend: BackendName;
  /** Pixels of the image optimised at the largest scale. */
  contentPixels: number;
  /** Pixels of each style image as scaled at the largest scale. */
  stylePixels: number[];
  /** Pixels of the largest source image (content or style) as decoded, before scaling. */
  inputPixels: number;
  optimizer: OptimizerName;
  lbfgsHistory: number;
}

export interface MemoryEstimate {
  /** The WebAssembly heap's high-water mark (0 on the other backends, whose memory is not limited this way). */
  heapBytes: number;
  /** The whole process at its peak: the heap, L-BFGS's history, the decoded images. */
  processBytes: number;
  /** The most the heap can have: 4 GiB on wasm, null where no such limit applies. */
  heapLimitBytes: number | null;
  fits: boolean;
}

export function engineMemoryBytes(demand: MemoryDemand): MemoryEstimate {
  const heapBytes = BASE_HEAP_BYTES + Math.max(
    STEP_HEAP_BYTES_PER_PIXEL * demand.contentPixels,
    STYLE_HEAP_BYTES_PER_PIXEL * Math.max(0, ...demand.stylePixels),
    INPUT_HEAP_BYTES_PER_PIXEL * demand.inputPixels,
  );
  // Each pair holds two images' worth of float pixels; all source images are decoded (3 bytes a pixel) before the first is used.
  const historyBytes = demand.optimizer === 'lbfgs' ? 2 * demand.lbfgsHistory * demand.contentPixels * 3 * 4 : 0;
  const decodedBytes = 3 * demand.inputPixels * (1 + demand.stylePixels.length);
  const onWasm = demand.backend === 'wasm';
  return {
    heapBytes: onWasm ? heapBytes : 0,
    processBytes: PROCESS_BASE_BYTES + (onWasm ? heapBytes : 0) + historyBytes + decodedBytes,
    heapLimitBytes: onWasm ? WASM_HEAP_LIMIT_BYTES : null,
    fits: !onWasm || heapBytes <= WASM_HEAP_LIMIT_BYTES,
  };
}

/** What a run of `params` on images of these (source) sizes needs: it peaks at its largest scale, at maxDim. */
export function runMemory(params: TransferParams, content: ImageSize, styles: ImageSize[], backend: BackendName): MemoryEstimate {
  const pixels = (image: ImageSize, maxDim: number) => {
    const { width, height } = fitSize(image.width, image.height, maxDim);
    return width * height;
  };
  return engineMemoryBytes({
    backend,
    contentPixels: pixels(content, params.maxDim),
    stylePixels: styles.map((style) => pixels(style, styleMaxDim(params.maxDim, params))),
    inputPixels: Math.max(...[content, ...styles].map((image) => image.width * image.height)),
    optimizer: params.optimizer,
    lbfgsHistory: params.lbfgsHistory,
  });
}

/** The largest integer in [low, high] for which `fits` holds (it holds for all below it); low - 1 if none. */
function largest(low: number, high: number, fits: (value: number) => boolean): number {
  if (!fits(low)) return low - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The largest maxDim at which a run of `params` on these images fits this backend's memory (the model above), styleScale kept. */
export function largestFittingMaxDim(params: TransferParams, content: ImageSize, styles: ImageSize[], backend: BackendName, upTo = 8192): number {
  return largest(16, upTo, (maxDim) => runMemory({ ...params, maxDim }, content, styles, backend).fits);
}

/** The largest square size that fits a plain run (one style image, as large): what a server reports it can do. */
export function largestSquareSize(backend: BackendName, optimizer: OptimizerName = 'adam', upTo = 8192): number {
  return largest(16, upTo, (maxDim) => engineMemoryBytes({
    backend, contentPixels: maxDim * maxDim, stylePixels: [maxDim * maxDim], inputPixels: maxDim * maxDim, optimizer, lbfgsHistory: 100,
  }).fits);
}

/**
 * Refuses, naming the parameter to change, a run that would not fit in this
 * backend's memory: maxDim when the optimisation itself is too large, with
 * the largest maxDim that fits; styleScale when the style images are, with
 * the largest styleScale that fits.
 */
export function checkMemoryFits(
  params: TransferParams,
  content: ImageSize,
  styles: ImageSize[],
  backend: BackendName,
  fields: ImageFields = { content: 'content', style: (i) => `styles[${i}]` },
): void {
  const estimate = runMemory(params, content, styles, backend);
  if (estimate.fits) return;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const needs = `needs about ${gib(estimate.heapBytes)} of this server's ${gib(estimate.heapLimitBytes!)} of WebAssembly memory`;
  const atOneScale = { ...params, styleScale: Math.min(params.styleScale, 1) };
  if (params.styleScale > 1 && runMemory(atOneScale, content, styles, backend).fits) {
    const scale = largest(1, Math.floor(params.styleScale * 100), (hundredths) => runMemory({ ...params, styleScale: hundredths / 100 }, content, styles, backend).fits) / 100;
    throw new ParamError('styleScale', `${params.styleScale} ${needs} (the style images at ${styleMaxDim(params.maxDim, params)} px); the largest that fits at maxDim ${params.maxDim} is ${scale}`);
  }
  const maxDim = largestFittingMaxDim(params, content, styles, backend, params.maxDim);
  if (maxDim < 16) {
    // Even the smallest run does not fit: the source images themselves are too large to decode.
    const largestImage = [content, ...styles].reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b));
    const index = styles.indexOf(largestImage);
    throw new ParamError(index < 0 ? fields.content : fields.style(index), `this ${largestImage.width}x${largestImage.height} px image ${needs} to decode`);
  }
  throw new ParamError('maxDim', `${params.maxDim} ${needs}; the largest that fits${params.styleScale === 1 ? '' : ` at styleScale ${params.styleScale}`} is ${maxDim} px`);
}
