/**
 * The two optimisers of the image, behind one interface: each update takes
 * one evaluation of the loss and its gradient, so step counts and step
 * times compare between them. Both keep the image in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { adamStep, zeroAdamState } from './adam';
import { Lbfgs, type LbfgsHistory } from './lbfgs';
import type { TransferParams } from './params';

/** An optimiser's state as plain data (HWC float arrays of the image's size): what a checkpoint keeps. */
export type OptimizerState =
  | { kind: 'adam'; m: Float32Array; v: Float32Array }
  | ({ kind: 'lbfgs' } & LbfgsHistory);

export interface Optimizer {
  /**
   * The image after one update with the gradient measured at it: the
   * `iteration`-th at this image size and the `step`-th of the run (both
   * 1-based). The caller keeps `image` and `gradient`, and owns the result.
   */
  update(image: tf.Tensor4D, gradient: tf.Tensor4D, iteration: number, step: number): tf.Tensor4D;
  state(): OptimizerState;
  dispose(): void;
}

/** tf.keras Adam, its moments as tensors beside the image; the update is clipped to [0, 1] as the tutorial's. */
class AdamOptimizer implements Optimizer {
  private m: tf.Tensor4D;
  private v: tf.Tensor4D;

  constructor(private readonly params: TransferParams, shape: [number, number, number, number], resume?: { m: Float32Array; v: Float32Array }) {
    const state = resume ? { m: tf.tensor4d(resume.m, shape), v: tf.tensor4d(resume.v, shape) } : zeroAdamState(shape);
    this.m = state.m as tf.Tensor4D;
    this.v = state.v as tf.Tensor4D;
  }

  update(image: tf.Tensor4D, gradient: tf.Tensor4D, iteration: number): tf.Tensor4D {
    const { params } = this;
    const updated = adamStep(image, gradient, { m: this.m, v: this.v }, iteration, params);
    tf.dispose([this.m, this.v]);
    this.m = updated.state.m as tf.Tensor4D;
    this.v = updated.state.v as tf.Tensor4D;
    const next = tf.clipByValue(updated.x, 0, 1) as tf.Tensor4D;
    updated.x.dispose();
    return next;
  }

  state(): OptimizerState {
    return { kind: 'adam', m: new Float32Array(this.m.dataSync()), v: new Float32Array(this.v.dataSync()) };
  }

  dispose(): void {
    tf.dispose([this.m, this.v]);
  }
}

/** L-BFGS (./lbfgs): its history stays in plain arrays; each update reads the image and gradient out and the next image in. */
class LbfgsOptimizer implements Optimizer {
  private readonly lbfgs: Lbfgs;

  constructor(params: TransferParams, resume?: LbfgsHistory) {
    this.lbfgs = new Lbfgs({ learningRate: params.learningRate, history: params.lbfgsHistory }, resume);
  }

  update(image: tf.Tensor4D, gradient: tf.Tensor4D, iteration: number, step: number): tf.Tensor4D {
    const next = this.lbfgs.step(new Float32Array(image.dataSync()), new Float32Array(gradient.dataSync()), iteration, step);
    return tf.tensor4d(next, image.shape);
  }

  state(): OptimizerState {
    const { previousImage, previousGradient, s, y, pairSteps } = this.lbfgs.history;
    // Copies: the arrays stay in use, and a checkpoint's buffers are handed on (transferred) as they are.
    const copy = (array: Float32Array | null) => array && new Float32Array(array);
    return {
      kind: 'lbfgs', previousImage: copy(previousImage), previousGradient: copy(previousGradient),
      s: s.map(copy) as Float32Array[], y: y.map(copy) as Float32Array[], pairSteps: [...pairSteps],
    };
  }

  dispose(): void {}
}

/** An optimiser for an image of `shape`, fresh or continuing from `resume` (which must be of this kind and size). */
export function createOptimizer(params: TransferParams, shape: [number, number, number, number], resume?: OptimizerState): Optimizer {
  if (resume && resume.kind !== params.optimizer) throw new Error(`the checkpoint holds ${resume.kind} state, the run uses ${params.optimizer}`);
  if (params.optimizer === 'lbfgs') return new LbfgsOptimizer(params, resume?.kind === 'lbfgs' ? resume : undefined);
  return new AdamOptimizer(params, shape, resume?.kind === 'adam' ? resume : undefined);
}

/** Every array of a state (each of the image's size), to hand it to another thread without copying. */
export function optimizerStateArrays(state: OptimizerState): Float32Array[] {
  if (state.kind === 'adam') return [state.m, state.v];
  return [state.previousImage, state.previousGradient, ...state.s, ...state.y].filter((array): array is Float32Array => array !== null);
}
