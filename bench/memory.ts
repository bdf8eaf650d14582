/**
 * What the engine's memory model (src/engine/memory.ts) is made of, measured
 * again: the WebAssembly heap after an optimisation at each size, and after
 * the style targets of large style images, each in a fresh thread; then the
 * model's prediction beside each measurement. `npm run bench -- --only memory`.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { engineMemoryBytes, type BackendInfo } from '../src/engine';
import type { MemoryProbe, MemoryProbeResult } from './memory-probe';
import { round, type Row } from './common';

function measure(probe: MemoryProbe): Promise<MemoryProbeResult> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(path.join(__dirname, 'memory-probe.js'), { workerData: probe });
    thread.once('message', (result: MemoryProbeResult) => {
      void thread.terminate();
      resolve(result);
    });
    thread.once('error', reject);
  });
}

const MiB = 2 ** 20;

export async function benchmarkMemory(backend: BackendInfo, sides: number[], styleSides: number[]): Promise<Row[]> {
  if (backend.backend !== 'wasm') throw new Error('the memory benchmark measures the WebAssembly heap: run it with STYLEGRAPH_BACKEND=wasm');
  const rows: Row[] = [];
  const probes: MemoryProbe[] = [
    ...sides.flatMap((side) => (['adam', 'lbfgs'] as const).map((optimizer) => ({ kind: 'step' as const, width: side, height: Math.round(side * 0.75), optimizer }))),
    ...styleSides.map((side) => ({ kind: 'style' as const, width: 8 * Math.round(side / 8), height: 8 * Math.round(side / 8), optimizer: 'adam' as const })),
  ];
  for (const probe of probes) {
    const result = await measure(probe);
    const model = probe.kind === 'step'
      ? engineMemoryBytes({ backend: 'wasm', contentPixels: probe.width * probe.height, stylePixels: [probe.width * probe.height], inputPixels: probe.width * probe.height, optimizer: probe.optimizer, lbfgsHistory: 100 })
      : engineMemoryBytes({ backend: 'wasm', contentPixels: (probe.width / 8) ** 2, stylePixels: [probe.width * probe.height], inputPixels: probe.width * probe.height, optimizer: 'adam', lbfgsHistory: 100 });
    console.error(`memory: ${probe.kind} ${probe.optimizer} ${probe.width}x${probe.height}: heap ${round(result.heapBytes / MiB, 0)} MiB${result.error ? ` (${result.error})` : ''}`);
    rows.push({
      bench: 'memory', kind: probe.kind, optimizer: probe.optimizer, size: `${probe.width}x${probe.height}`,
      baseMiB: round(result.baseBytes / MiB, 0), heapMiB: round(result.heapBytes / MiB, 0),
      heapBytesPerPixel: round((result.heapBytes - result.baseBytes) / (probe.width * probe.height), 0),
      modelHeapMiB: round(model.heapBytes / MiB, 0), modelOverMeasured: round(model.heapBytes / result.heapBytes, 2),
      result: result.error ?? 'ok',
    });
  }
  return rows;
}
