import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepEvent } from '../../src/engine/index.js';
import { STEP_INTERVAL_MS, StepSampler } from '../../src/worker/step-sampler.js';

const LOSSES = { content: 1, style: 2, totalVariation: 0.5, temporal: 0 };

/** Steps of `ms` each, back to back, from `first` on. */
function steps(first: number, count: number, ms: number): StepEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'step', step: first + i, totalSteps: 1000, ms, elapsedMs: 40 + (i + 1) * ms, losses: { ...LOSSES, total: 100 - i },
  }));
}

describe('StepSampler', () => {
  it('sends the first step, then the latest once the interval has passed, dropping the ones between', () => {
    const sampler = new StepSampler();
    const sent = steps(11, 100, 10).map((event) => sampler.sample(event)).filter((step) => step !== undefined);
    // A step every 10 ms: the first, then every 25th.
    assert.deepEqual(sent.map((s) => s.step), [11, 36, 61, 86]);
    assert.deepEqual(sent.map((s) => s.stepsPerSecond), [100, 100, 100, 100]);
    assert.deepEqual(sent.map((s) => s.elapsedMs), [50, 300, 550, 800]);
    assert.deepEqual(sent.map((s) => s.totalLoss), [100, 75, 50, 25]);
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i].elapsedMs - sent[i - 1].elapsedMs >= STEP_INTERVAL_MS);
  });

  it('sends every step of an engine slower than the interval, at its pace', () => {
    const sampler = new StepSampler();
    const sent = steps(1, 4, 500).map((event) => sampler.sample(event));
    assert.deepEqual(sent.map((s) => [s?.step, s?.stepsPerSecond]), [[1, 2], [2, 2], [3, 2], [4, 2]]);
  });
});
