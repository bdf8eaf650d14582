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

/** GraphQL names for the engine's Pooling values. */
export enum PoolingMode {
  MAX = 'max',
  AVG = 'avg',
}

registerEnumType(PoolingMode, { name: 'Pooling', description: 'VGG19\'s pooling layers: max (the tutorial) or average (smoother, as in Gatys et al.).' });

export enum RunEventKind {
  STATUS = 'STATUS',
  EPOCH = 'EPOCH',
}

registerEnumType(RunEventKind, {
  name: 'RunEventKind',
  valuesConfig: {
    STATUS: { description: 'The run\'s status changed; `run.status` is the new one.' },
    EPOCH: { description: 'An epoch finished; `epoch` holds its losses and preview.' },
  },
});
