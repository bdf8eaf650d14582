/**
 * The body of an engine thread (node:worker_threads): the optimisation is
 * CPU- or GPU-bound for minutes, so it runs here and the process that serves
 * requests stays responsive. Loads VGG19 once, then runs one job at a time.
 */
import { parentPort } from 'node:worker_threads';
import { decodeImage, encodePng, initBackend, loadVgg19, stylize, type Vgg19 } from '../engine/index.js';
import type { EngineJob, FromEngine, ToEngine } from './engine-protocol.js';

const port = parentPort!;
const post = (message: FromEngine, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** The one place the worker calls the engine. */
async function runJob(vgg: Vgg19, job: EngineJob, signal: AbortSignal): Promise<void> {
  const content = await decodeImage(job.content);
  const styles = await Promise.all(job.styles.map((bytes) => decodeImage(bytes)));
  for await (const event of stylize(vgg, { content, styles, params: job.params, resume: job.resume, signal })) {
    if (event.kind !== 'epoch') continue;
    const png = new Uint8Array(await encodePng(event.image));
    const { checkpoint } = event;
    post(
      {
        type: 'epoch',
        epoch: {
          epoch: event.epoch,
          step: event.step,
          losses: event.losses,
          layers: event.layers,
          elapsedMs: event.elapsedMs,
          png,
          width: event.image.width,
          height: event.image.height,
          checkpoint,
        },
      },
      // Moved, not copied; a buffer may back more than one array, and may be listed once only.
      [...new Set([png.buffer, checkpoint.image.buffer, checkpoint.m.buffer, checkpoint.v.buffer])] as ArrayBuffer[],
    );
  }
}

async function main(): Promise<void> {
  const { backend, device } = await initBackend();
  const vgg = await loadVgg19();
  let current: AbortController | undefined;
  port.on('message', (message: ToEngine) => {
    if (message.type === 'abort') {
      current?.abort();
      return;
    }
    const controller = (current = new AbortController());
    runJob(vgg, message.job, controller.signal).then(
      () => post({ type: 'finished' }),
      (err: Error) => post({ type: 'failed', message: err.message }),
    ).finally(() => {
      if (current === controller) current = undefined;
    });
  });
  post({ type: 'ready', backend, device });
}

main().catch((err: Error) => {
  post({ type: 'failed', message: `the engine could not start: ${err.message}` });
  process.exit(1);
});
