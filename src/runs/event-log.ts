import type { PrismaClient } from '../storage/generated/client.js';
import { toEpochRecord, toFrameRecord } from './records.js';
import { isTerminal, type RunEvent } from './types.js';

/**
 * A run's events numbered in (afterSeq, upToSeq], rebuilt from the stored
 * rows: what a process reads when the database announces new events, or when
 * it has missed some. Epoch events are the run_epochs rows, each with the
 * number it was published with, and frame events the run_frames rows. Status events are not stored one by one, but
 * the state machine (lifecycle.ts) fixes their numbers: QUEUED is a run's
 * first event, RUNNING (if it started) its second, since nothing else is
 * numbered before a run runs, and a final status its last, since nothing is
 * numbered after.
 */
export async function readStoredRunEvents(prisma: PrismaClient, runId: string, afterSeq: number, upToSeq?: number): Promise<RunEvent[]> {
  const run = await prisma.run.findUnique({
    where: { id: runId },
    select: { status: true, error: true, createdAt: true, startedAt: true, finishedAt: true, eventSeq: true },
  });
  if (!run) return []; // deleted
  // Numbers above the row's are being written now; their announcement follows.
  const last = Math.min(upToSeq ?? run.eventSeq, run.eventSeq);
  if (last <= afterSeq) return [];

  const statuses: RunEvent[] = [{ type: 'status', runId, seq: 1, status: 'QUEUED', error: null, at: run.createdAt }];
  if (run.startedAt) statuses.push({ type: 'status', runId, seq: 2, status: 'RUNNING', error: null, at: run.startedAt });
  if (isTerminal(run.status)) {
    statuses.push({ type: 'status', runId, seq: run.eventSeq, status: run.status, error: run.error, at: run.finishedAt ?? run.createdAt });
  }
  const numbered = { runId, eventSeq: { gt: afterSeq, lte: last } };
  const [epochs, frames] = await Promise.all([prisma.runEpoch.findMany({ where: numbered }), prisma.runFrame.findMany({ where: numbered })]);
  const stored: RunEvent[] = [
    ...epochs.map((row): RunEvent => ({ type: 'epoch', runId, seq: row.eventSeq, epoch: toEpochRecord(row) })),
    ...frames.map((row): RunEvent => ({ type: 'frame', runId, seq: row.eventSeq, frame: toFrameRecord(row) })),
  ];
  return [...statuses.filter((event) => event.seq > afterSeq && event.seq <= last), ...stored].sort((a, b) => a.seq - b.seq);
}
