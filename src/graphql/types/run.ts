import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { EpochRecord, FrameRecord } from '../../runs/types.js';
import { InitImage, OptimizerKind, PoolingMode, RunMode, RunStatus } from './enums.js';

/** temporalLoss, as an epoch and a frame describe it. */
const TEMPORAL_LOSS = 'The temporal coherence term (temporalWeight), part of totalLoss: in a run over an animation or a video, how far the frame is from the previous painted frame carried along the content\'s motion, where the content did not change along it; 0 for the first frame, a still image, or temporalWeight 0.';

@ObjectType({ description: 'The parameters a run was started with, defaults filled in.' })
export class RunParams {
  @Field(() => Int) maxDim!: number;
  @Field(() => Int) epochs!: number;
  @Field(() => Int) stepsPerEpoch!: number;
  @Field(() => Float) contentWeight!: number;
  @Field(() => Float) styleWeight!: number;
  @Field(() => Float) totalVariationWeight!: number;
  @Field(() => OptimizerKind) optimizer!: OptimizerKind;
  @Field(() => Float, { description: 'The optimiser\'s step size.' }) learningRate!: number;
  @Field(() => Int, { description: 'Curvature pairs L-BFGS keeps (unused by ADAM).' }) lbfgsHistory!: number;
  @Field(() => InitImage) init!: InitImage;
  @Field(() => Int) seed!: number;
  @Field(() => [Float], { nullable: true, description: 'One weight per style image; null blends them equally.' })
  styleBlend!: number[] | null;

  @Field(() => Float) styleScale!: number;
  @Field() preserveColors!: boolean;
  @Field(() => Int) multiscale!: number;
  @Field(() => PoolingMode) pooling!: PoolingMode;
  @Field(() => RunMode) mode!: RunMode;
  @Field(() => String, { nullable: true, description: 'The fast-style network of the fast modes; null in OPTIMIZE.' })
  preset!: string | null;

  @Field(() => Float, { description: 'How strongly each frame of an animation is held to the previous frame\'s result, carried along the content\'s motion (optical flow), where the content did not change along it; 0 paints each frame on its own.' })
  temporalWeight!: number;
}

@ObjectType({ description: 'One finished epoch of a run.' })
export class RunEpoch {
  @Field(() => Int, { description: '1-based.' })
  epoch!: number;

  @Field(() => Int, { description: 'Optimisation steps taken by the end of this epoch.' })
  step!: number;

  @Field(() => Float) totalLoss!: number;
  @Field(() => Float) contentLoss!: number;
  @Field(() => Float) styleLoss!: number;
  @Field(() => Float) totalVariationLoss!: number;

  @Field(() => Float, { description: TEMPORAL_LOSS })
  temporalLoss!: number;

  @Field(() => Int, { description: 'Optimisation time from the run\'s start to the end of this epoch.' })
  elapsedMs!: number;

  /** The preview's image id (null once retention dropped it); `preview` resolves it. */
  previewImage!: string | null;

  static from(record: EpochRecord): RunEpoch {
    return {
      epoch: record.epoch,
      step: record.step,
      totalLoss: record.losses.total,
      contentLoss: record.losses.content,
      styleLoss: record.losses.style,
      totalVariationLoss: record.losses.totalVariation,
      temporalLoss: record.losses.temporal,
      elapsedMs: record.elapsedMs,
      previewImage: record.previewImage,
    };
  }
}

@ObjectType({ description: 'One painted frame of a run whose content image is an animation (GIF or animated WebP) or a video (MP4, WebM).' })
export class RunFrame {
  @Field(() => Int, { description: '1-based, in the animation\'s order.' })
  frame!: number;

  @Field(() => Float) totalLoss!: number;
  @Field(() => Float) contentLoss!: number;
  @Field(() => Float) styleLoss!: number;
  @Field(() => Float) totalVariationLoss!: number;

  @Field(() => Float, { description: TEMPORAL_LOSS })
  temporalLoss!: number;

  @Field(() => Int, { description: 'Painting time from the run\'s start to the end of this frame.' })
  elapsedMs!: number;

  @Field(() => Int, { description: 'How long the animation shows this frame: the content frame\'s delay, kept in the result.' })
  delayMs!: number;

  /** The painted frame's image id; `image` resolves it. */
  imageId!: string;

  static from(record: FrameRecord): RunFrame {
    return {
      frame: record.frame,
      totalLoss: record.losses.total,
      contentLoss: record.losses.content,
      styleLoss: record.losses.style,
      totalVariationLoss: record.losses.totalVariation,
      temporalLoss: record.losses.temporal,
      elapsedMs: record.elapsedMs,
      delayMs: record.delayMs,
      imageId: record.image,
    };
  }
}

/** Fields read straight from a RunRecord; the rest are resolved by RunResolver. */
@ObjectType({ description: 'One style transfer: its parameters, status, epochs and result.' })
export class Run {
  @Field(() => ID) id!: string;
  @Field(() => RunStatus) status!: RunStatus;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;

  @Field(() => Int, { description: 'The last finished epoch (0 before the first).' })
  currentEpoch!: number;

  @Field(() => Int, { description: 'The frames the run paints: its content image\'s (1 for a still image).' })
  totalFrames!: number;

  @Field(() => Int, { description: 'The last painted frame of a run over an animation (0 before the first, and for a still image).' })
  currentFrame!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'Of a run over an animation that SUCCEEDED: how much its frames flicker, the mean absolute difference '
      + '(0-255, per channel) between each painted frame and the one before it carried along the content\'s motion (optical flow), '
      + 'where the content did not change along it, averaged over the pairs: on a still shot, the change where the content stood still; '
      + 'on a pan, strokes that stay on the screen count. Lower is steadier. Null for a still image, and while the run is unfinished.',
  })
  flicker!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the run FAILED.' })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'The TensorFlow.js backend the run was optimised on (set when it starts).' })
  backend!: string | null;

  @Field(() => String, { nullable: true, description: 'What computed it, in words (set when it starts).' })
  device!: string | null;
}
