/**
 * Feed-forward stylisation: at each size (square), the time of one pass and
 * that time per megapixel, with peak RSS.
 */
import { join } from 'node:path';
import { listFastStylePresets, loadFastStyleNetwork, locateFastStyleModels, type BackendInfo } from '../src/engine';
import { median, peakRssMiB, round, syntheticImage, type Row } from './common';

export async function benchmarkFastStyle(backend: BackendInfo, sizes: number[], timedRuns: number, preset?: string): Promise<Row[]> {
  const folder = locateFastStyleModels();
  const name = preset ?? (await listFastStylePresets(folder))[0]?.name;
  if (!name) throw new Error(`no fast-style network in ${folder}`);
  const network = await loadFastStyleNetwork(join(folder, name));
  const rows: Row[] = [];
  for (const size of sizes) {
    const image = syntheticImage(size);
    const times: number[] = [];
    for (let run = 0; run <= timedRuns; run++) {
      const start = performance.now();
      network.stylize(image);
      if (run > 0) times.push(performance.now() - start); // the first run warms kernels up
    }
    const megapixels = (size * size) / 1e6;
    const ms = median(times);
    rows.push({
      bench: 'fast', backend: backend.backend, network: name, size, ms: round(ms),
      msPerMegapixel: round(ms / megapixels, 0), peakRssMiB: peakRssMiB(),
    });
  }
  network.dispose();
  return rows;
}
