import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { describe, test } from 'node:test';
import { DATABASE_KINDS, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { eventsUntilFinished, startTestService } from '../helpers/service.js';

const CHILD = path.join(__dirname, '..', 'helpers', 'service-process.js');
const FRAMES = 12;
const FAST = { mode: 'fast', preset: 'wave', maxDim: 24 } as const;
/** Two epochs a frame: the interruption after epoch 5 comes within frame 3. */
const OPTIMIZE = { mode: 'optimize', maxDim: 24, epochs: 2, stepsPerEpoch: 3 } as const;

type Line = {
  start?: { id: string; status: string; currentFrame: number };
  event?: { type: string; status?: string; frame?: { frame: number }; epoch?: { epoch: number; step: number } };
};

/** The service in a child, painting a GIF of FRAMES frames; `interrupt` is sent after the run's fifth epoch. */
function runChild(database: TestDatabase, params: object, interrupt?: NodeJS.Signals): Promise<{ lines: Line[]; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(params), String(FRAMES)], {
    // A short lease: on PostgreSQL the restarted process waits for the killed one's to expire.
    env: { ...process.env, ...database.env, STYLEGRAPH_WORKER_LEASE_SECONDS: '2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Line[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line;
    lines.push(line);
    if (line.event?.epoch?.epoch === 5 && interrupt) child.kill(interrupt);
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ lines, code, signal })));
}

const framesOf = (lines: Line[]) => lines.flatMap((line) => line.event?.frame ? [line.event.frame.frame] : []);
const epochsOf = (lines: Line[]) => lines.flatMap((line) => line.event?.epoch ? [line.event.epoch.epoch] : []);

// Each case starts three services (about 10 s each): kill -9 on one database and a shutdown on the other cover both paths
// on both; a shutdown within an OPTIMIZE frame keeps the steps of its epoch in progress (a checkpoint), a kill does not.
const CASES = [
  ...DATABASE_KINDS.map((kind, i) => ({ kind, mode: 'FAST', params: FAST, epochsPerFrame: 1, interrupt: (['SIGKILL', 'SIGTERM'] as const)[i % 2] })),
  { kind: DATABASE_KINDS[0], mode: 'OPTIMIZE', params: OPTIMIZE, epochsPerFrame: OPTIMIZE.epochs, interrupt: 'SIGTERM' as const },
];

describe('runs over animations interrupted', () => {
  for (const { kind, mode, params, epochsPerFrame, interrupt } of CASES) {
    test(`on ${kind}, a ${mode} run over a GIF interrupted by ${interrupt} paints only the frames and epochs not stored, and ends with the same animation`, async () => {
      const database = await freshDatabase(kind);
      try {
        const first = await runChild(database, params, interrupt);
        if (interrupt === 'SIGKILL') assert.equal(first.signal, 'SIGKILL');
        else assert.equal(first.code, 0, 'a SIGTERM shutdown exits cleanly');
        const before = framesOf(first.lines);

        const second = await runChild(database, params);
        assert.equal(second.code, 0);
        const start = second.lines[0].start!;
        assert.equal(start.status, 'RUNNING', 'the interrupted run was left RUNNING');
        assert.ok(start.currentFrame >= 2 && start.currentFrame < FRAMES, `interrupted at frame ${start.currentFrame}`);
        // Every frame the first process announced was stored; none is painted again.
        assert.deepEqual(before, Array.from({ length: start.currentFrame }, (_, i) => i + 1));
        assert.deepEqual(framesOf(second.lines), Array.from({ length: FRAMES - start.currentFrame }, (_, i) => start.currentFrame + i + 1));
        // Nor any epoch: the second process goes on at the epoch after the last one stored, within its frame.
        const epochs = [...epochsOf(first.lines), ...epochsOf(second.lines)];
        assert.deepEqual(epochs, Array.from({ length: FRAMES * epochsPerFrame }, (_, i) => i + 1));

        const service = await startTestService(kind, { database });
        try {
          const run = (await service.runs.getRun(start.id))!;
          assert.equal(run.status, 'SUCCEEDED');
          const frames = await service.runs.listFrames(run.id);
          assert.deepEqual(frames.map((f) => f.frame), Array.from({ length: FRAMES }, (_, i) => i + 1));
          const seqs = frames.map((f) => f.seq);
          assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'frame events numbered in order across the restart');
          // The same run made in one go gives the same animation (same bytes, same id).
          // (A FAST run's style image is its preset's painting, filled in: not to be given.)
          const styleImages = params.mode === 'fast' ? [] : run.styleImages;
          const again = (await service.runs.startRun({ contentImage: run.contentImage, styleImages, params })).run;
          await eventsUntilFinished(service, again.id);
          const reference = (await service.runs.getRun(again.id))!;
          assert.equal(reference.status, 'SUCCEEDED');
          assert.equal(run.resultImage, reference.resultImage, 'the resumed run\'s animation equals the uninterrupted one');
        } finally {
          await service.stop();
        }
      } finally {
        await database.drop();
      }
    });
  }
});
