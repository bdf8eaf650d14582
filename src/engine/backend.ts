import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import { WASM_HEAP_LIMIT_BYTES } from './memory';
import type { BackendName } from './types';
import { startThreadedWasm } from './wasm-threads';


export interface BackendInfo {
  /** The TensorFlow.js backend in use. */
  backend: BackendName;
  /** What actually computes, in words (GPU, libtensorflow on CPU, WebAssembly and its threads, JavaScript). */
  device: string;
  /** Threads computing on the CPU: the wasm backend's (XNNPACK), 1 for plain JavaScript, null where libtensorflow chooses. */
  threads: number | null;
}

export interface BackendOptions {
  /** This backend rather than the fastest available one (default: STYLEGRAPH_BACKEND, if set). */
  backend?: string;
  /** Threads of the WebAssembly backend (default: every core); fixed once it has started in this thread. */
  threads?: number;
}

/** Native TensorFlow bindings, best first; both are optional dependencies. */
const NATIVE_PACKAGES = [
  { name: '@tensorflow/tfjs-node-gpu', device: 'GPU (CUDA, libtensorflow)' },
  { name: '@tensorflow/tfjs-node', device: 'CPU (libtensorflow)' },
];

let chosen: Promise<BackendInfo> | undefined;
/** The wasm backend starts once per thread, with its thread count. */
let wasmThreads: number | undefined;

async function tryNative(): Promise<BackendInfo | undefined> {
  for (const pkg of NATIVE_PACKAGES) {
    try {
      require(pkg.name); // registers the 'tensorflow' backend
    } catch {
      continue; // not installed, or libtensorflow missing: the normal case without CUDA
    }
    if (await tf.setBackend('tensorflow')) {
      // tfjs-node-gpu falls back to the CPU when CUDA is absent; say so.
      const onGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
      const device = pkg.name.endsWith('-gpu') && !onGpu ? 'CPU (libtensorflow; no CUDA device found)' : pkg.device;
      return { backend: 'tensorflow', device, threads: null };
    }
  }
  return undefined;
}

/** A tensor that would not fit in what is left of the WebAssembly heap. */
export class WasmMemoryError extends RangeError {
  /** `bytes`: the allocation that failed, NaN when XNNPACK's own did. */
  constructor(readonly bytes: number) {
    super(`the WebAssembly backend ran out of memory (${Math.round(WASM_HEAP_LIMIT_BYTES / 2 ** 30)} GiB)${Number.isNaN(bytes) ? '' : ` allocating ${(bytes / 2 ** 20).toFixed(0)} MiB`}`);
    this.name = 'WasmMemoryError';
  }
}

/**
 * Running out of wasm memory is silent: malloc returns 0 and tfjs writes the
 * tensor over the start of the heap, corrupting every later computation (and
 * a size of 4 GiB or more wraps around to a small one, which is overrun).
 * Every tensor the backend makes is allocated through this one function, so
 * a failed allocation throws here instead, before anything is written.
 */
function guardWasmAllocations(): void {
  const module = (tf.backend() as unknown as { wasm: { _malloc(bytes: number): number; _free(pointer: number): void } }).wasm;
  // Emscripten's first call replaces the exported stub by the real function: make it now, so the guard wraps the real one.
  module._free(module._malloc(4));
  const malloc = module._malloc;
  module._malloc = (bytes: number) => {
    // Above 4 GiB the size would wrap around in wasm32's malloc and a small block be overrun.
    if (bytes > WASM_HEAP_LIMIT_BYTES) throw new WasmMemoryError(bytes);
    const pointer = malloc(bytes);
    if (pointer === 0 && bytes > 0) throw new WasmMemoryError(bytes);
    return pointer;
  };
}

/** XNNPACK's refusal of an operation, as tfjs-backend-wasm reports it (and then carries on with garbage). */
const XNN_FAILURE = /^XNN status for (\w+) is not successful\. Got status (\d+)/;
/** xnn_status_out_of_memory. */
const XNN_OUT_OF_MEMORY = 6;

/**
 * The allocations XNNPACK makes itself (packed weights, indirection buffers)
 * bypass tfjs's malloc: when one fails, tfjs-backend-wasm only prints a line
 * (through fs.writeSync, in Node) and computes on with an output it never
 * wrote. This turns that line into an exception in the kernel that printed
 * it; the computation is lost, and the thread is not to be trusted after it
 * (the worker replaces it).
 */
function guardXnnFailures(): void {
  const writeSync = fs.writeSync;
  fs.writeSync = function guardedWriteSync(this: unknown, fd: number, data: unknown, ...rest: unknown[]) {
    const failure = (fd === 1 || fd === 2) && typeof data === 'string' ? XNN_FAILURE.exec(data) : null;
    if (failure) {
      throw Number(failure[2]) === XNN_OUT_OF_MEMORY ? new WasmMemoryError(Number.NaN) : new Error(`XNNPACK refused ${failure[1]} (status ${failure[2]})`);
    }
    return (writeSync as (...args: unknown[]) => number).call(this, fd, data, ...rest);
  } as typeof fs.writeSync;
}

async function tryWasm(threads: number): Promise<BackendInfo | undefined> {
  if (wasmThreads === undefined) {
    if (!(await startThreadedWasm(threads))) return undefined;
    guardWasmAllocations();
    guardXnnFailures();
    wasmThreads = threads;
  } else if (wasmThreads !== threads) {
    throw new Error(`the WebAssembly backend already runs ${wasmThreads} threads in this thread (asked for ${threads})`);
  } else if (!(await tf.setBackend('wasm'))) {
    return undefined;
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { backend: 'wasm', device: `CPU (WebAssembly${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})`, threads };
}

async function tryCpu(): Promise<BackendInfo | undefined> {
  return (await tf.setBackend('cpu')) ? { backend: 'cpu', device: 'CPU (JavaScript)', threads: 1 } : undefined;
}

const BACKENDS: Record<BackendName, (threads: number) => Promise<BackendInfo | undefined>> = {
  tensorflow: tryNative,
  wasm: tryWasm,
  cpu: tryCpu,
};

async function choose(preferred: string | undefined, threads: number): Promise<BackendInfo> {
  if (preferred) {
    if (!(preferred in BACKENDS)) {
      throw new Error(`STYLEGRAPH_BACKEND must be one of ${Object.keys(BACKENDS).join(', ')} (got "${preferred}")`);
    }
    const info = await BACKENDS[preferred as BackendName](threads);
    if (!info) throw new Error(`STYLEGRAPH_BACKEND=${preferred}: that backend could not be started here`);
    return info;
  }
  for (const start of Object.values(BACKENDS)) {
    const info = await start(threads);
    if (info) return info;
  }
  throw new Error('no TensorFlow.js backend could be started');
}

/**
 * Picks the fastest backend available (tfjs-node-gpu, tfjs-node, wasm, cpu) or
 * the one named. The automatic choice is made once per thread; naming a
 * backend switches to it.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const preferred = options.backend ?? (process.env.STYLEGRAPH_BACKEND || undefined);
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
  const current = chosen && (await chosen);
  if (current && (!preferred || preferred === current.backend) && (current.threads === null || current.threads === threads)) return current;
  chosen = choose(preferred, threads);
  const info = await chosen;
  await tf.ready();
  return info;
}
