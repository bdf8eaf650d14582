import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { describe, test } from 'node:test';
import { MIGRATIONS_DIR } from '../../src/config.js';
import { openDatabase } from '../../src/storage/database.js';
import { DATABASE_KINDS, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService } from '../helpers/service.js';

const CHILD = path.join(__dirname, '..', 'helpers', 'service-process.js');
// Epochs long enough that a SIGTERM sent after the second lands mid-epoch (a step or two into the third, as measured).
const BASE_PARAMS = { maxDim: 24, epochs: 4, stepsPerEpoch: 8, seed: 11 };
type Params = typeof BASE_PARAMS & { optimizer: 'adam' | 'lbfgs' };

type Line = { start?: { id: string; status: string; currentEpoch: number }; event?: { type: string; status?: string; epoch?: { epoch: number } } };

/** Runs the service in a child; `interrupt` is sent after the second epoch. Resolves with its lines and exit. */
function runChild(database: TestDatabase, PARAMS: Params, interrupt?: NodeJS.Signals): Promise<{ lines: Line[]; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(PARAMS)], {
    // A short lease: on PostgreSQL the restarted process waits for the killed one's to expire.
    env: { ...process.env, ...database.env, STYLEGRAPH_WORKER_LEASE_SECONDS: '2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Line[] = [];
  let epochs = 0;
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    if (line.event?.type === 'epoch' && ++epochs === 2 && interrupt) child.kill(interrupt);
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ lines, code, signal })));
}

for (const kind of DATABASE_KINDS) {
  describe(`restart safety on ${kind}`, () => {
    for (const [interrupt, optimizer] of [['SIGKILL', 'adam'], ['SIGTERM', 'adam'], ['SIGKILL', 'lbfgs'], ['SIGTERM', 'lbfgs']] as const) {
      const PARAMS: Params = { ...BASE_PARAMS, optimizer };
      test(`a run (${optimizer}) interrupted by ${interrupt} after its second epoch resumes, stores every epoch once and ends with the same image`, async () => {
        const database = await freshDatabase(kind);
        try {
          const first = await runChild(database, PARAMS, interrupt);
          if (interrupt === 'SIGKILL') assert.equal(first.signal, 'SIGKILL');
          else {
            assert.equal(first.code, 0, 'a SIGTERM shutdown exits cleanly');
            // The shutdown kept the steps taken since the last epoch.
            const db = await openDatabase(database.config, MIGRATIONS_DIR);
            try {
              const run = await db.prisma.run.findFirstOrThrow({ select: { currentEpoch: true, checkpoint: { select: { epoch: true, step: true } } } });
              assert.ok(run.checkpoint, 'a checkpoint is stored');
              assert.equal(run.checkpoint.epoch, run.currentEpoch, 'the checkpoint follows the last epoch stored');
              assert.ok(run.checkpoint.step > run.currentEpoch * PARAMS.stepsPerEpoch, `checkpoint at step ${run.checkpoint.step}, after epoch ${run.currentEpoch}`);
            } finally {
              await db.close();
            }
          }

          const second = await runChild(database, PARAMS);
          assert.equal(second.code, 0);
          const start = second.lines[0].start!;
          assert.equal(start.status, 'RUNNING', 'the interrupted run was left RUNNING');
          assert.ok(start.currentEpoch >= 2 && start.currentEpoch < PARAMS.epochs, `interrupted at epoch ${start.currentEpoch}`);
          const resumedEpochs = second.lines.flatMap((l) => l.event?.epoch ? [l.event.epoch.epoch] : []);
          assert.equal(resumedEpochs[0], start.currentEpoch + 1, 'resumed after its last checkpoint');

          // The same inputs run uninterrupted in the same database give the same final image (same bytes, same id).
          const service = await startTestService(kind, { database });
          try {
            const run = (await service.runs.getRun(start.id))!;
            assert.equal(run.status, 'SUCCEEDED');
            const epochs = await service.runs.listEpochs(run.id);
            assert.deepEqual(epochs.map((e) => e.epoch), Array.from({ length: PARAMS.epochs }, (_, i) => i + 1));
            const seqs = epochs.map((e) => e.seq);
            assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'epoch events numbered in order across the restart');
            const again = (await service.runs.startRun({ contentImage: run.contentImage, styleImages: run.styleImages, params: PARAMS })).run;
            await eventsUntilFinished(service, again.id);
            const reference = (await service.runs.getRun(again.id))!;
            assert.equal(reference.status, 'SUCCEEDED');
            assert.equal(run.resultImage, reference.resultImage, 'the resumed run\'s final image equals the uninterrupted one');
          } finally {
            await service.stop();
          }
        } finally {
          await database.drop();
        }
      });
    }
  });
}
