/**
 * Fast-style benchmark: for the active backend at 128, 256 and 512 px
 * (square), the time of one feed-forward stylisation and that time per
 * megapixel, with peak RSS. `npm run bench:fast` prints a table;
 * `npm run bench:fast -- --json` one JSON object a line.
 * Networks: STYLEGRAPH_FAST_STYLE_MODELS or the cache, as the engine finds them.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, listFastStylePresets, loadFastStyleNetwork, locateFastStyleModels, type RgbImage } from '../src/engine';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    sizes: { type: 'string', default: '128,256,512' },
    runs: { type: 'string', default: '3' },
    preset: { type: 'string' },
  },
});
const sizes = values.sizes!.split(',').map(Number);
const timedRuns = Number(values.runs);

/** A deterministic, textured test image (the network's speed does not depend on content). */
function syntheticImage(size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37) * 0.5 + 0.5) * 255;
  return { width: size, height: size, data };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

async function main() {
  const backend = await initBackend();
  const folder = locateFastStyleModels();
  const preset = values.preset ?? (await listFastStylePresets(folder))[0]?.name;
  if (!preset) throw new Error(`no fast-style network in ${folder}`);
  const network = await loadFastStyleNetwork(join(folder, preset));
  if (!values.json) {
    console.log(`backend ${backend.backend} on ${backend.device}; network ${preset}; median of ${timedRuns} runs each`);
    console.log('size   megapixels        ms   ms/megapixel   peak RSS MiB');
  }
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
    const row = { size, megapixels: round(megapixels, 4), ms: round(ms), msPerMegapixel: round(ms / megapixels, 0), peakRssMiB: round(process.resourceUsage().maxRSS / 1024) };
    if (values.json) {
      console.log(JSON.stringify({ backend: backend.backend, device: backend.device, network: preset, ...row }));
    } else {
      console.log(`${String(size).padStart(4)}   ${String(row.megapixels).padStart(10)}   ${String(row.ms).padStart(7)}   ${String(row.msPerMegapixel).padStart(12)}   ${String(row.peakRssMiB).padStart(12)}`);
    }
  }
  network.dispose();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
