/** What a runEvents subscription with `steps` must show, over one process or several. */
import assert from 'node:assert/strict';

/** The engine thread's sampling interval (src/worker/step-sampler.ts), as the API promises it: at most four a second. */
const STEP_INTERVAL_MS = 250;

/** 32 px, 2 epochs of 12 steps: steps come between the epochs. */
export const STEPPED_RUN = { maxDim: 32, epochs: 2, stepsPerEpoch: 12 };

export const STEP_EVENTS = `subscription($runId: ID!, $steps: Boolean) {
  runEvents(runId: $runId, steps: $steps) {
    sequence kind status
    epoch { epoch step elapsedMs }
    step { step epoch totalLoss elapsedMs stepsPerSecond }
  }
}`;

export interface SteppedEvent {
  sequence: number;
  kind: 'STATUS' | 'EPOCH' | 'STEP';
  status: string;
  epoch: { epoch: number; step: number; elapsedMs: number } | null;
  step: { step: number; epoch: number; totalLoss: number; elapsedMs: number; stepsPerSecond: number } | null;
}

/** The checks every live stream of a STEPPED_RUN run, made in one go, passes. */
export function assertStepStream(events: SteppedEvent[]): void {
  const steps = events.filter((e) => e.kind === 'STEP');
  assert.ok(steps.length > 0, 'steps arrive');
  const numbered = events.filter((e) => e.kind !== 'STEP');
  assert.deepEqual(numbered.map((e) => e.sequence), numbered.map((_, i) => i + 1), 'the numbered events, without a gap');
  assert.deepEqual(numbered.map((e) => e.kind), ['STATUS', 'STATUS', 'EPOCH', 'EPOCH', 'STATUS']);
  assert.equal(events.at(-1)!.status, 'SUCCEEDED');

  let before: SteppedEvent | undefined;
  for (const [i, event] of events.entries()) {
    if (event.kind !== 'STEP') {
      before = event;
      continue;
    }
    const { step } = event;
    assert.ok(step && before, 'a STEP event carries its step, after the run started');
    assert.equal(event.status, 'RUNNING');
    assert.equal(event.sequence, before.sequence, 'under the number of the event before it');
    assert.equal(event.epoch, null);
    // Never behind the epoch before it, never past the one after it.
    const after = events.slice(i + 1).find((e) => e.kind === 'EPOCH');
    assert.ok(step.step > (before.epoch?.step ?? 0) && (!after || step.step <= after.epoch!.step), `step ${step.step} between its epochs`);
    assert.equal(step.epoch, Math.ceil(step.step / STEPPED_RUN.stepsPerEpoch));
    assert.ok(Number.isFinite(step.totalLoss) && step.totalLoss > 0);
    assert.ok(Number.isFinite(step.stepsPerSecond) && step.stepsPerSecond > 0);
    assert.ok(!after || step.elapsedMs <= after.epoch!.elapsedMs);
  }
  for (let i = 1; i < steps.length; i++) {
    assert.ok(steps[i].step!.step > steps[i - 1].step!.step, 'rising step numbers');
    // Measured on the engine's clock, so exact, however the events were delayed on their way.
    assert.ok(steps[i].step!.elapsedMs - steps[i - 1].step!.elapsedMs >= STEP_INTERVAL_MS, 'at most four a second');
  }
  const runMs = numbered.findLast((e) => e.kind === 'EPOCH')!.epoch!.elapsedMs;
  assert.ok(steps.length <= Math.floor(runMs / STEP_INTERVAL_MS) + 1, `${steps.length} steps in ${runMs} ms`);
}
