import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { InitImage, OptimizerKind, PoolingMode, RunMode } from './enums.js';

@InputType({
  description: 'A new run. Unset parameters take the TensorFlow tutorial\'s defaults, or, with cloneOf, the earlier run\'s values.',
})
export class StartRunInput {
  @Field(() => ID, { nullable: true, description: 'Start from this earlier run\'s images and parameters (seed included); the fields given here override them.' })
  cloneOf?: string | null;

  @Field(() => ID, { nullable: true, description: 'The content image: a still PNG, JPEG or WebP, or an animated GIF or WebP or a video, painted frame by frame (a still GIF, or a video of one frame, is refused); required unless cloneOf is given.' })
  contentImageId?: string | null;

  @Field(() => [ID], { nullable: true, description: 'One or more style images, blended, each a still PNG, JPEG or WebP (an animated or GIF image is refused); required unless cloneOf is given. Left out in the fast modes: the preset\'s painting is the style.' })
  styleImageIds?: string[] | null;

  @Field(() => [Float], { nullable: true, description: 'One weight per style image (default: equal).' })
  styleBlend?: number[] | null;

  @Field(() => Int, { nullable: true, description: 'Longer side of the optimised image in pixels (default 512).' })
  maxDim?: number | null;

  @Field(() => RunMode, { nullable: true, description: 'Default OPTIMIZE.' })
  mode?: RunMode | null;

  @Field(() => String, { nullable: true, description: 'The fast-style network (a `presets` name, e.g. "wave"); required in the fast modes, refused in OPTIMIZE.' })
  preset?: string | null;

  @Field(() => Int, { nullable: true, description: 'Default 10; always 1 in mode FAST.' })
  epochs?: number | null;

  @Field(() => Int, { nullable: true, description: 'Default 100.' })
  stepsPerEpoch?: number | null;

  @Field(() => Float, { nullable: true, description: 'Default 1e4.' })
  contentWeight?: number | null;

  @Field(() => Float, { nullable: true, description: 'Default 1e-2.' })
  styleWeight?: number | null;

  @Field(() => Float, { nullable: true, description: 'Default 30.' })
  totalVariationWeight?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Default 1e11. For an animation: how strongly each frame is held to the previous frame\'s result where the '
      + 'content did not change (a loss term; in OPTIMIZE each frame also starts from the previous result). 0 paints every '
      + 'frame on its own. No effect on a still image or in FAST.',
  })
  temporalWeight?: number | null;

  @Field(() => OptimizerKind, { nullable: true, description: 'Default ADAM (the tutorial\'s).' })
  optimizer?: OptimizerKind | null;

  @Field(() => Float, {
    nullable: true,
    description: 'The optimiser\'s step size; default 0.02 for ADAM, 1 for LBFGS. Setting `optimizer` without it takes that optimiser\'s default, also in a clone.',
  })
  learningRate?: number | null;

  @Field(() => Int, { nullable: true, description: 'Curvature pairs LBFGS keeps, 1..1000 (default 100); memory grows with it: 2 images\' worth per pair.' })
  lbfgsHistory?: number | null;

  @Field(() => InitImage, { nullable: true, description: 'Default CONTENT; FAST_THEN_OPTIMIZE starts from the network\'s result instead.' })
  init?: InitImage | null;

  @Field(() => Int, { nullable: true, description: 'Seeds the NOISE initialisation (default 0).' })
  seed?: number | null;

  @Field(() => Float, { nullable: true, description: 'Style images are scaled to styleScale * maxDim (default 1).' })
  styleScale?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Keep the content\'s colours (default false).' })
  preserveColors?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'Number of sizes to optimise at, each doubling up to maxDim (default 1: off).' })
  multiscale?: number | null;

  @Field(() => PoolingMode, { nullable: true, description: 'Default MAX.' })
  pooling?: PoolingMode | null;

  @Field(() => String, { nullable: true, description: 'Starting again with a key already used returns that run instead of a new one.' })
  idempotencyKey?: string | null;
}
