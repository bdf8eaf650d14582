import { startService, type Service } from '../../src/service.js';
import { engineThreads, type Config, type Role } from '../../src/config.js';
import type { RunEvent } from '../../src/runs/types.js';
import type { VideoTools } from '../../src/images/video-tools.js';
import { storeImage } from '../../src/storage/images.js';
import { freshDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { makePng } from './images.js';
import { FAST_STYLE_MODELS, VGG19_PATH } from './shared-data.js';

// Engine threads inherit the environment: they load the real weights (and the service its fast-style networks).
process.env.STYLEGRAPH_VGG19 = VGG19_PATH;
process.env.STYLEGRAPH_FAST_STYLE_MODELS = FAST_STYLE_MODELS;

/** Tiny runs: 24 px, a few steps; each takes well under a second per epoch. */
export const TINY_PARAMS = { maxDim: 24, epochs: 3, stepsPerEpoch: 2, seed: 7 };

export interface TestService extends Service {
  database: TestDatabase;
  /** Stores a PNG whose pixels depend on `seed`; returns its id. */
  image(seed: number): Promise<string>;
  /** Stops the service and drops its database. */
  close(): Promise<void>;
}

export async function startTestService(
  kind: DatabaseKind,
  options: { role?: Role; concurrency?: number; database?: TestDatabase; video?: VideoTools | null } = {},
): Promise<TestService> {
  const database = options.database ?? await freshDatabase(kind);
  const workerConcurrency = options.concurrency ?? 1;
  const config: Config = {
    database: database.config, workerConcurrency, queuePollingSeconds: 1, workerLeaseSeconds: 30, engineThreads: engineThreads(process.env, workerConcurrency),
  };
  const service = await startService(config, options.role ?? 'all', { video: options.video });
  return {
    ...service,
    database,
    async image(seed) {
      return (await storeImage(service.db.prisma, await makePng(24, 24, seed), { mimeType: 'image/png', width: 24, height: 24 })).sha256;
    },
    async close() {
      await service.stop();
      await database.drop();
    },
  };
}

/** Collects a run's events until one with a terminal status (or the timeout). */
export function eventsUntilFinished(service: Service, runId: string, timeoutMs = 60_000): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`run ${runId} did not finish within ${timeoutMs} ms; events: ${JSON.stringify(events.map((e) => e.type === 'status' ? e.status : e.type === 'epoch' ? e.epoch.epoch : `frame ${e.frame.frame}`))}`));
    }, timeoutMs);
    const unsubscribe = service.runs.events.subscribe(runId, (event) => {
      events.push(event);
      if (event.type === 'status' && ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(event.status)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(events);
      }
    });
  });
}
