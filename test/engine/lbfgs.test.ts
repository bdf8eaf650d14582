import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lbfgs } from '../../src/engine/lbfgs';

/** f(x) = sum_i a_i (x_i - c_i)^2 / 2 + x_0 x_1 / 4: convex, coupled, its minimum over [0, 1]^n known when inside. */
function quadratic(a: number[], c: number[]) {
  const gradient = (x: Float32Array) => Float32Array.from(x, (v, i) => a[i] * (v - c[i]) + (i === 0 ? x[1] / 4 : i === 1 ? x[0] / 4 : 0));
  return { gradient };
}

describe('Lbfgs', () => {
  it('takes a first step of -g scaled by min(1, 1/|g|_1), as torch.optim.LBFGS does', () => {
    const lbfgs = new Lbfgs({ learningRate: 1, history: 10 });
    const x = Float32Array.from([0.5, 0.5]);
    const g = Float32Array.from([0.2, -0.1]); // |g|_1 = 0.3 < 1: a full step
    assert.deepEqual(Array.from(lbfgs.step(x, g, 1, 1)), Array.from(Float32Array.from([0.3, 0.6])));
    const big = Float32Array.from([4, -4]); // |g|_1 = 8: steps of g / 8
    assert.deepEqual(Array.from(new Lbfgs({ learningRate: 1, history: 10 }).step(x, big, 1, 1)), [0, 1]);
  });

  it('finds the minimum of a convex quadratic inside the box in a few more steps than it has dimensions', () => {
    const a = [1, 3, 0.5, 2, 1.5], c = [0.3, 0.7, 0.45, 0.2, 0.9];
    const { gradient } = quadratic(a, c);
    const lbfgs = new Lbfgs({ learningRate: 1, history: 10 });
    let x: Float32Array = new Float32Array(5).fill(0.5);
    for (let i = 1; i <= 12; i++) x = lbfgs.step(x, gradient(x), i, i);
    const g = gradient(x);
    assert.ok(g.every((v) => Math.abs(v) < 1e-4), `gradient ${Array.from(g)}`);
  });

  it('keeps every iterate in [0, 1] and ends at the clipped minimum when it lies outside', () => {
    const a = [1, 1, 1], c = [-2, 0.5, 3];
    const gradient = (x: Float32Array) => Float32Array.from(x, (v, i) => a[i] * (v - c[i]));
    const lbfgs = new Lbfgs({ learningRate: 1, history: 5 });
    let x: Float32Array = new Float32Array(3).fill(0.5);
    for (let i = 1; i <= 20; i++) {
      x = lbfgs.step(x, gradient(x), i, i);
      assert.ok(x.every((v) => v >= 0 && v <= 1), `step ${i}: ${Array.from(x)}`);
    }
    assert.deepEqual(Array.from(x).map((v) => Number(v.toFixed(4))), [0, 0.5, 1]);
  });

  it('keeps at most `history` curvature pairs, and continues exactly from its history', () => {
    const a = [1, 3, 0.5, 2], c = [0.3, 0.7, 0.45, 0.2];
    const { gradient } = quadratic(a, c);
    const run = (steps: number, lbfgs: Lbfgs, start: Float32Array, first = 1) => {
      let x = start;
      for (let i = first; i < first + steps; i++) x = lbfgs.step(x, gradient(x), i, i);
      return x;
    };
    const straight = new Lbfgs({ learningRate: 1, history: 2 });
    const end = run(6, straight, new Float32Array(4).fill(0.9));
    assert.ok(straight.history.s.length <= 2 && straight.history.s.length === straight.history.y.length);
    assert.deepEqual(straight.history.pairSteps, straight.history.pairSteps.slice().sort((a, b) => a - b), 'oldest first');
    assert.equal(straight.history.pairSteps.length, straight.history.s.length);

    const first = new Lbfgs({ learningRate: 1, history: 2 });
    const middle = run(3, first, new Float32Array(4).fill(0.9));
    // A copy of the history, as a checkpoint would carry it.
    const { previousImage, previousGradient, s, y } = first.history;
    const copied = {
      previousImage: new Float32Array(previousImage!), previousGradient: new Float32Array(previousGradient!),
      s: s.map((v) => new Float32Array(v)), y: y.map((v) => new Float32Array(v)), pairSteps: [...first.history.pairSteps],
    };
    const resumed = run(3, new Lbfgs({ learningRate: 1, history: 2 }, copied), middle, 4);
    assert.deepEqual(Array.from(resumed), Array.from(end));
  });
});
