/**
 * Threaded WebAssembly in Node. tfjs-backend-wasm ships a threaded SIMD build
 * (XNNPACK on a pthread pool) but switches it off in Node: emscripten starts
 * its pthread workers from `blob:` URLs, which Node's Worker refuses. This
 * switches it on from outside the package, editing no file in node_modules
 * (the approach of the closed upstream pull request tensorflow/tfjs#8059):
 *
 * - the flag WASM_HAS_MULTITHREAD_SUPPORT is set before the backend starts;
 * - while it starts, worker_threads' Worker is a subclass that starts the
 *   package's own pthread worker script in eval mode instead of the blob URL,
 *   and hands that worker the path of the package's threaded module script
 *   instead of the Blob emscripten made of it;
 * - XNNPACK uses at most half the cores it is told of, and Node tells it
 *   os.cpus(): while the backend starts, that reports twice the count wanted;
 * - the pool's workers are unref'd, so they keep no process alive.
 *
 * All of it depends on the emscripten glue of the exact tfjs version the
 * project pins (4.22.0): `startThreadedWasm` checks that it got the threads
 * it asked for and throws otherwise, so an upgrade that breaks it fails
 * loudly (test/engine/wasm-threads.test.ts) instead of running on one thread.
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';

const WASM_OUT = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
/** Emscripten's main script of the threaded build: each pthread worker loads it. */
const THREADED_MODULE = path.join(WASM_OUT, 'tfjs-backend-wasm-threaded-simd.js');
/** The pthread worker's script, exported as a string (its "\n" escapes stay escapes in eval mode, as in tfjs's own Blob). */
const WORKER_SCRIPT = path.join(WASM_OUT, 'tfjs-backend-wasm-threaded-simd.worker.js');

function pthreadWorkerSource(): string {
  if (!existsSync(THREADED_MODULE) || !existsSync(WORKER_SCRIPT)) {
    throw new Error(`threaded WebAssembly: ${WASM_OUT} lacks the threaded SIMD build of tfjs-backend-wasm ${wasm.version_wasm}`);
  }
  const source = (require(WORKER_SCRIPT) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof source !== 'string') throw new Error(`threaded WebAssembly: ${WORKER_SCRIPT} no longer exports wasmWorkerContents`);
  return source.replace(/\n/g, '\\n');
}

/**
 * Starts the wasm backend with `threads` threads (1: the single-threaded SIMD
 * build); false if it could not start. Runs once per thread: the backend keeps
 * the build and the thread count it started with.
 */
export async function startThreadedWasm(threads: number): Promise<boolean> {
  if (threads <= 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return tf.setBackend('wasm');
  }
  const source = pthreadWorkerSource();
  const Original = workerThreads.Worker;
  const pool: workerThreads.Worker[] = [];
  let started = false;

  class PthreadWorker extends Original {
    constructor(file: string | URL, options?: workerThreads.WorkerOptions) {
      const fromBlob = String(file).startsWith('blob:');
      super(fromBlob ? source : file, fromBlob ? { ...options, eval: true } : options);
      if (fromBlob) pool.push(this);
    }

    // Emscripten listens for messages after it made a worker, which refs it again.
    override on(event: string | symbol, listener: (...args: any[]) => void): this {
      super.on(event, listener);
      if (started && pool.includes(this)) this.unref();
      return this;
    }

    override postMessage(message: unknown, transfer?: readonly workerThreads.TransferListItem[]): void {
      const load = message as { cmd?: string; urlOrBlob?: unknown } | null;
      if (load?.cmd === 'load' && typeof load.urlOrBlob !== 'string') message = { ...load, urlOrBlob: THREADED_MODULE };
      super.postMessage(message, transfer);
    }
  }

  const cpus = os.cpus;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0]);
  workerThreads.Worker = PthreadWorker;
  try {
    if (!(await tf.setBackend('wasm'))) return false;
  } finally {
    // Emscripten kept the class it saw; nothing else in this thread gets it.
    workerThreads.Worker = Original;
    os.cpus = cpus;
    started = true;
    for (const worker of pool) worker.unref();
  }
  const actual = wasm.getThreadsCount();
  if (actual !== threads) {
    throw new Error(`threaded WebAssembly: asked for ${threads} threads, XNNPACK runs ${actual} (tfjs-backend-wasm ${wasm.version_wasm}; the project pins 4.22.0)`);
  }
  return true;
}
