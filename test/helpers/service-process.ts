/**
 * A service in a child process, for the tests that kill it (kill -9, SIGTERM).
 * Database from the environment, as `stylegraph serve` takes it. With no run
 * stored yet it starts one (params as JSON in argv[2]); then it prints the
 * run's state and events as JSON lines and exits once the run is finished.
 */
import { startService } from '../../src/service.js';
import { loadConfig } from '../../src/config.js';
import { storeImage } from '../../src/storage/images.js';
import { makePng } from './images.js';
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
        run = (await service.runs.startRun({ contentImage: await image(1), styleImages: [await image(2)], params: JSON.parse(process.argv[2]) })).run;
      }
      print({ start: { id: run.id, status: run.status, currentEpoch: run.currentEpoch } });
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
