import { registerEnumType } from 'type-graphql';
import { RunStatus } from '../../storage/generated/enums.js';

export { RunStatus };

registerEnumType(RunStatus, {
  name: 'RunStatus',
  description: 'QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELED, and QUEUED -> CANCELED.',
});

/** GraphQL names for the engine's InitMode values. */
export enum InitImage {
  CONTENT = 'content',
  NOISE = 'noise',
  STYLE = 'style',
}

registerEnumType(InitImage, {
  name: 'InitImage',
  description: 'What the optimised image starts from.',
  valuesConfig: {
    CONTENT: { description: 'The content image (the tutorial).' },
    NOISE: { description: 'Uniform noise drawn from the run\'s seed.' },
    STYLE: { description: 'The first style image, scaled to the content\'s size.' },
  },
});

/** GraphQL names for the engine's RunMode values. */
export enum RunMode {
  OPTIMIZE = 'optimize',
  FAST = 'fast',
  FAST_THEN_OPTIMIZE = 'fast-then-optimize',
}

registerEnumType(RunMode, {
  name: 'RunMode',
  description: 'How a run makes its image.',
  valuesConfig: {
    OPTIMIZE: { description: 'Gatys et al.\'s optimisation, epochs x stepsPerEpoch steps (the tutorial).' },
    FAST: { description: 'One pass through the preset\'s trained network: one epoch, no optimisation steps; the loss weights only weigh the losses reported.' },
    FAST_THEN_OPTIMIZE: { description: 'The optimisation, started from the preset network\'s result instead of `init`, towards the preset\'s painting.' },
  },
});

/** GraphQL names for the engine's optimisers. */
export enum OptimizerKind {
  ADAM = 'adam',
  LBFGS = 'lbfgs',
}

registerEnumType(OptimizerKind, {
  name: 'Optimizer',
  description: 'What updates the image; each step is one evaluation of the loss and its gradient, whichever it is.',
  valuesConfig: {
    ADAM: { description: 'tf.keras Adam, the tutorial\'s (learning rate 0.02, beta1 0.99, beta2 0.999, epsilon 0.1).' },
    LBFGS: {
      description: 'L-BFGS as neural-style runs it (learning rate 1, lbfgsHistory pairs, no line search), the image kept in [0, 1] '
        + 'after every step: fewer steps to the same loss than Adam.',
    },
  },
});

/** GraphQL names for the engine's Pooling values. */
export enum PoolingMode {
  MAX = 'max',
  AVG = 'avg',
}

registerEnumType(PoolingMode, { name: 'Pooling', description: 'VGG19\'s pooling layers: max (the tutorial) or average (smoother, as in Gatys et al.).' });

export enum RunEventKind {
  STATUS = 'STATUS',
  EPOCH = 'EPOCH',
  FRAME = 'FRAME',
  STEP = 'STEP',
}

registerEnumType(RunEventKind, {
  name: 'RunEventKind',
  valuesConfig: {
    STATUS: { description: 'The run\'s status changed; `status` is the new one.' },
    EPOCH: { description: 'An epoch finished; `epoch` holds its losses and preview.' },
    FRAME: { description: 'A frame of a run over an animation is painted; `frame` holds it, its losses and its image.' },
    STEP: {
      description: 'Progress within an epoch, sent only when asked for (runEvents\' `steps`): `step` holds it. At most four a second, '
        + 'live only: never stored, never replayed, and the steps between two are dropped.',
    },
  },
});
