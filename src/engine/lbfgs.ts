/**
 * L-BFGS as jcjohnson/neural-style and neural-style-pt run it (the update of
 * torch.optim.LBFGS without line search: learning rate 1, the first step
 * scaled by 1 / |g|_1, pairs kept while y.s > 1e-10, no tolerance stop),
 * projected onto the box [0, 1] after every step.
 *
 * Without a projection the iterate leaves [0, 1] and the image a user sees
 * (clipped) stops improving. Projecting every step, with the curvature pairs
 * taken from the steps actually made, reached the loss of 300 Adam steps in
 * 43 evaluations on the tutorial's pair at 256 px; projecting every 10
 * evaluations, as the PyTorch measurement in the shared notes did, took 70,
 * and an active-set variant that freezes pixels held at a bound, 67.
 *
 * The history lives in plain Float32Arrays outside the backend's memory (on
 * wasm its heap is at most 4 GiB), and the arithmetic is plain JavaScript in
 * a fixed order, so a step gives the same result on every backend and
 * thread count.
 */

/** Everything L-BFGS carries from one step to the next: with it (plain data), a resumed run continues exactly. */
export interface LbfgsHistory {
  /** The iterate and gradient of the previous step, from which the next curvature pair is made; null before the first. */
  previousImage: Float32Array | null;
  previousGradient: Float32Array | null;
  /** Curvature pairs, oldest first: s = x_k+1 - x_k, y = g_k+1 - g_k. */
  s: Float32Array[];
  y: Float32Array[];
  /** The step (counted over the whole run) at which each pair was made: a pair's identity, so that it is stored once. */
  pairSteps: number[];
}

export interface LbfgsSettings {
  learningRate: number;
  /** Pairs kept (neural-style's default: 100). */
  history: number;
}

export function emptyLbfgsHistory(): LbfgsHistory {
  return { previousImage: null, previousGradient: null, s: [], y: [], pairSteps: [] };
}

/** In four running sums (about twice as fast as one in V8), added in a fixed order. */
function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < a.length; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < a.length; i++) s0 += a[i] * b[i];
  return s0 + s1 + s2 + s3;
}

/** a += factor * b */
function addScaled(a: Float32Array, factor: number, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] += factor * b[i];
}

/** As torch: a pair is kept only when its curvature y.s is clearly positive. */
const MIN_CURVATURE = 1e-10;

/** L-BFGS on one image size; `history` is its whole state. */
export class Lbfgs {
  /** 1 / y.s of each pair: follows from the pairs, so it is not part of the state. */
  private readonly rho: number[];

  constructor(private readonly settings: LbfgsSettings, readonly history: LbfgsHistory = emptyLbfgsHistory()) {
    this.rho = history.s.map((s, i) => 1 / dot(history.y[i], s));
  }

  /**
   * One update of `image` (pixels in [0, 1]) along the gradient measured
   * there, the `iteration`-th at this size (1-based) and the `step`-th of
   * the run: returns the next iterate, projected onto [0, 1], and keeps what
   * the next update needs.
   */
  step(image: Float32Array, gradient: Float32Array, iteration: number, step: number): Float32Array {
    const { history, settings } = this;
    if (history.previousImage && history.previousGradient) this.addPair(image, gradient, history.previousImage, history.previousGradient, step);
    const direction = this.direction(gradient);
    let stepSize = settings.learningRate;
    if (iteration === 1) {
      // The first step knows no curvature: it is kept small, as torch's is.
      let sumAbs = 0;
      for (let i = 0; i < gradient.length; i++) sumAbs += Math.abs(gradient[i]);
      stepSize *= Math.min(1, 1 / sumAbs);
    }
    const next = new Float32Array(image.length);
    for (let i = 0; i < image.length; i++) next[i] = Math.min(1, Math.max(0, image[i] + stepSize * direction[i]));
    history.previousImage = image;
    history.previousGradient = gradient;
    return next;
  }

  private addPair(image: Float32Array, gradient: Float32Array, previousImage: Float32Array, previousGradient: Float32Array, step: number): void {
    const { history, rho } = this;
    const s = new Float32Array(image.length);
    const y = new Float32Array(image.length);
    for (let i = 0; i < image.length; i++) {
      s[i] = image[i] - previousImage[i];
      y[i] = gradient[i] - previousGradient[i];
    }
    const curvature = dot(y, s);
    if (curvature <= MIN_CURVATURE) return;
    if (history.s.length >= this.settings.history) {
      history.s.shift();
      history.y.shift();
      history.pairSteps.shift();
      rho.shift();
    }
    history.s.push(s);
    history.y.push(y);
    history.pairSteps.push(step);
    rho.push(1 / curvature);
  }

  /** -H g by the two-loop recursion, H the inverse Hessian the pairs describe, scaled as the newest pair says. */
  private direction(gradient: Float32Array): Float32Array {
    const { s, y } = this.history;
    const { rho } = this;
    const direction = new Float32Array(gradient.length);
    for (let i = 0; i < gradient.length; i++) direction[i] = -gradient[i];
    const alpha = new Array<number>(s.length);
    for (let i = s.length - 1; i >= 0; i--) {
      alpha[i] = rho[i] * dot(s[i], direction);
      addScaled(direction, -alpha[i], y[i]);
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const scale = 1 / (rho[last] * dot(y[last], y[last]));
      for (let i = 0; i < direction.length; i++) direction[i] *= scale;
    }
    for (let i = 0; i < s.length; i++) {
      const beta = rho[i] * dot(y[i], direction);
      addScaled(direction, alpha[i] - beta, s[i]);
    }
    return direction;
  }
}
