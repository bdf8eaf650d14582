import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The TensorFlow.js backend in use. */
  backend: BackendName;
  /** What actually computes, in words (GPU, libtensorflow on CPU, WebAssembly, JavaScript). */
  device: string;
}

/** Native TensorFlow bindings, best first; both are optional dependencies. */
const NATIVE_PACKAGES = [
  { name: '@tensorflow/tfjs-node-gpu', device: 'GPU (CUDA, libtensorflow)' },
  { name: '@tensorflow/tfjs-node', device: 'CPU (libtensorflow)' },
];

let chosen: Promise<BackendInfo> | undefined;

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
      return { backend: 'tensorflow', device };
    }
  }
  return undefined;
}

async function tryWasm(): Promise<BackendInfo | undefined> {
  require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) return undefined;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { backend: 'wasm', device: `CPU (WebAssembly${simd ? ' SIMD' : ''}, 1 thread)` };
}

async function tryCpu(): Promise<BackendInfo | undefined> {
  return (await tf.setBackend('cpu')) ? { backend: 'cpu', device: 'CPU (JavaScript)' } : undefined;
}

const BACKENDS: Record<BackendName, () => Promise<BackendInfo | undefined>> = {
  tensorflow: tryNative,
  wasm: tryWasm,
  cpu: tryCpu,
};

async function choose(preferred: string | undefined): Promise<BackendInfo> {
  if (preferred) {
    if (!(preferred in BACKENDS)) {
      throw new Error(`STYLEGRAPH_BACKEND must be one of ${Object.keys(BACKENDS).join(', ')} (got "${preferred}")`);
    }
    const info = await BACKENDS[preferred as BackendName]();
    if (!info) throw new Error(`STYLEGRAPH_BACKEND=${preferred}: that backend could not be started here`);
    return info;
  }
  for (const start of Object.values(BACKENDS)) {
    const info = await start();
    if (info) return info;
  }
  throw new Error('no TensorFlow.js backend could be started');
}

/**
 * Picks the fastest backend available (tfjs-node-gpu, tfjs-node, wasm, cpu) or
 * the one named (by default STYLEGRAPH_BACKEND). The automatic choice is made
 * once per process; naming a backend switches to it.
 */
export async function initBackend(preferred: string | undefined = process.env.STYLEGRAPH_BACKEND || undefined): Promise<BackendInfo> {
  const current = chosen && (await chosen);
  if (current && (!preferred || preferred === current.backend)) return current;
  chosen = choose(preferred);
  const info = await chosen;
  await tf.ready();
  return info;
}
