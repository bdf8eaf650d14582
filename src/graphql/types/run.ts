import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { EpochRecord } from '../../runs/types.js';
import { InitImage, OptimizerKind, PoolingMode, RunMode, RunStatus } from './enums.js';

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
      elapsedMs: record.elapsedMs,
      previewImage: record.previewImage,
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

  @Field(() => String, { nullable: true, description: 'Why the run FAILED.' })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'The TensorFlow.js backend the run was optimised on (set when it starts).' })
  backend!: string | null;

  @Field(() => String, { nullable: true, description: 'What computed it, in words (set when it starts).' })
  device!: string | null;
}
