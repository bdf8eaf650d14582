/**
 * One process of a scaled-out deployment, for test/scale: the service as
 * `stylegraph serve --role <argv[2]>` starts it, database and settings from
 * the environment. Prints JSON lines: `{ ready }` once started. An api node
 * also takes commands on stdin, one JSON line each:
 *   { "start": params, "count": n }  stores two images, starts n runs: { started: [ids] }
 *   { "watch": [ids] }  subscribes to the runs on this process's event bus:
 *                       { watching: { id: seq when subscribed } }, then { event } per event
 * SIGTERM stops the service: { stopped }.
 */
import readline from 'node:readline';
import { startService } from '../../src/service.js';
import { loadConfig, type Role } from '../../src/config.js';
import { storeImage } from '../../src/storage/images.js';
import { makePng } from './images.js';
import { VGG19_PATH } from './shared-data.js';

process.env.STYLEGRAPH_VGG19 = VGG19_PATH;
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

type Command = { start: object; count: number } | { watch: string[] };

async function main(): Promise<void> {
  const service = await startService(loadConfig(), process.argv[2] as Role);
  process.once('SIGTERM', () => void service.stop().then(() => { print({ stopped: true }); process.exit(0); }));
  const image = async (seed: number) => (await storeImage(service.db.prisma, await makePng(24, 24, seed), { mimeType: 'image/png', width: 24, height: 24 })).sha256;

  async function run(command: Command): Promise<void> {
    if ('start' in command) {
      const [content, style] = [await image(1), await image(2)];
      const started: string[] = [];
      for (let i = 0; i < command.count; i++) {
        started.push((await service.runs.startRun({ contentImage: content, styleImages: [style], params: { ...command.start, seed: i } })).run.id);
      }
      print({ started });
    } else {
      const watching: Record<string, number> = {};
      for (const id of command.watch) {
        service.runs.events.subscribe(id, (event) => print({ event }));
        watching[id] = (await service.runs.getRun(id))!.eventSeq;
      }
      print({ watching });
    }
  }
  readline.createInterface({ input: process.stdin }).on('line', (text) => {
    run(JSON.parse(text) as Command).catch((err) => { console.error(err); process.exit(1); });
  });
  print({ ready: process.pid });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
