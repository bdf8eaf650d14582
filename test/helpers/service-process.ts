/**
 * A service in a child process, for the tests that kill it (kill -9, SIGTERM).
 * Database from the environment, as `stylegraph serve` takes it. With no run
 * stored yet it starts one (params as JSON in argv[2]; with a number of
 * frames in argv[3], its content is an animated GIF of that many); then it
 * prints the run's state and events as JSON lines and exits once the run is finished.
 */
import { startService } from '../../src/service.js';
import { loadConfig } from '../../src/config.js';
import { storeImage } from '../../src/storage/images.js';
import { makeAnimation, makePng } from './images.js';
import { VGG19_PATH } from './shared-data.js';

process.env.STYLEGRAPH_VGG19 = VGG19_PATH;
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  const service = await startService(loadConfig(), 'all');
  const finished = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => service.stop().then(() => { print({ stopped: 'SIGTERM' }); resolve(); }));
    const watch = async () => {
      let run = (await service.runs.listRuns({ first: 1 })).runs[0];
      if (!run) {
        const image = async (seed: number) => (await storeImage(service.db.prisma, await makePng(24, 24, seed), { mimeType: 'image/png', width: 24, height: 24 })).sha256;
        const frames = Number(process.argv[3] ?? 1);
        const animation = async () => {
          const delays = Array.from({ length: frames }, () => 100);
          const info = { mimeType: 'image/gif', width: 32, height: 24, frames, durationMs: 100 * frames };
          return (await storeImage(service.db.prisma, await makeAnimation('gif', 32, 24, delays, 1), info)).sha256;
        };
        const params = JSON.parse(process.argv[2]);
        // A fast-style network brings its own painting.
        const styleImages = params.mode === 'fast' ? [] : [await image(2)];
        run = (await service.runs.startRun({ contentImage: frames > 1 ? await animation() : await image(1), styleImages, params })).run;
      }
      print({ start: { id: run.id, status: run.status, currentEpoch: run.currentEpoch, currentFrame: run.currentFrame } });
      const done = ['SUCCEEDED', 'FAILED', 'CANCELED'];
      const stop = () => service.stop().then(resolve);
      service.runs.events.subscribe(run.id, (event) => {
        print({ event });
        if (event.type === 'status' && done.includes(event.status)) void stop();
      });
      if (done.includes(run.status)) void stop();
    };
    void watch();
  });
  await finished;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
