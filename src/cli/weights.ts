import {
  cacheDir, fetchVgg19Weights, KERAS_VGG19_SHA256, KERAS_VGG19_URL, locateVgg19, WeightsNotFoundError,
  type FetchVgg19Result,
} from '../engine/weights';
import { command, subcommands } from './args';
import { formatBytes, formatDuration, ProgressLine } from './progress';

export const WEIGHTS_USAGE = `Usage: stylegraph weights <fetch|where>

  fetch [--url URL] [--sha256 HEX] [--dest DIR]
      download Keras's VGG19 weights (about 80 MB) into DIR (the cache:
      STYLEGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/stylegraph or ~/.cache/stylegraph)
      and check them: against --sha256 or STYLEGRAPH_VGG19_SHA256 if given,
      else against the MD5 Keras publishes. Default URL: ${KERAS_VGG19_URL}
  where
      print which weights would be used (STYLEGRAPH_VGG19 or the cache)`;

/** `stylegraph weights ...`; returns the exit code. */
export const weightsCommand = subcommands('weights', WEIGHTS_USAGE, {
  fetch: command({
    name: 'weights fetch',
    usage: WEIGHTS_USAGE,
    options: { url: { type: 'string' }, sha256: { type: 'string' }, dest: { type: 'string' } },
    run: ({ values }) => fetchWeights(values),
  }),
  where: command({ name: 'weights where', usage: WEIGHTS_USAGE, options: {}, run: where }),
});

function where(): number {
  try {
    const source = locateVgg19();
    console.log(`${source.kind} ${source.path}`);
    return 0;
  } catch (error) {
    if (!(error instanceof WeightsNotFoundError)) throw error;
    console.error(error.message);
    return 1;
  }
}

async function fetchWeights(values: { url?: string; sha256?: string; dest?: string }): Promise<number> {
  const dest = values.dest ?? cacheDir();
  const sha256 = values.sha256 ?? (process.env.STYLEGRAPH_VGG19_SHA256 || KERAS_VGG19_SHA256);
  const progress = new ProgressLine();
  const started = Date.now();
  // Ctrl-C aborts the download, so the partial file is removed rather than left behind.
  const cancel = new AbortController();
  const onInterrupt = () => cancel.abort();
  process.once('SIGINT', onInterrupt);
  let result: FetchVgg19Result;
  try {
    result = await fetchVgg19Weights({
      url: values.url, sha256, dest, signal: cancel.signal,
      onProgress: progress.interactive ? throttled(100, (received, total) => {
        progress.draw(total ? received / total : 0, transferText(received, total, Date.now() - started));
      }) : undefined,
    });
  } catch (error) {
    progress.done();
    if (cancel.signal.aborted) {
      console.error('stylegraph weights: download cancelled; nothing was saved');
      return 130;
    }
    console.error(`stylegraph weights: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  progress.done();
  const check = result.verifiedWith === 'sha256' ? 'SHA-256 checked' : `MD5 matches Keras's; SHA-256 ${result.sha256}`;
  console.error(result.downloaded
    ? `stylegraph weights: saved ${result.path} (${formatBytes(result.bytes)} in ${formatDuration(Date.now() - started)}; ${check})`
    : `stylegraph weights: ${result.path} is already there (${check})`);
  if (process.env.STYLEGRAPH_VGG19) {
    console.error(`stylegraph weights: note that STYLEGRAPH_VGG19 is set, so ${process.env.STYLEGRAPH_VGG19} is used instead`);
  }
  console.log(result.path);
  return 0;
}

function transferText(received: number, total: number | null, elapsedMs: number): string {
  const rate = `${formatBytes(received / Math.max(elapsedMs / 1000, 0.001))}/s`;
  if (total === null) return `${formatBytes(received)}  ${rate}`;
  const percent = `${Math.floor((received / total) * 100)}%`.padStart(4);
  return `${percent}  ${formatBytes(received)} / ${formatBytes(total)}  ${rate}`;
}

/** Calls `draw` at most every `ms` milliseconds, and always for the last chunk. */
function throttled(ms: number, draw: (received: number, total: number | null) => void) {
  let lastDrawn = 0;
  return (received: number, total: number | null) => {
    const now = Date.now();
    if (now - lastDrawn >= ms || received === total) {
      lastDrawn = now;
      draw(received, total);
    }
  };
}
