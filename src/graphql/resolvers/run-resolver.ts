import { Arg, Args, Ctx, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { TransferParams } from '../../engine/index.js';
import type { RunRecord } from '../../runs/types.js';
import type { NamedImage } from '../../storage/images.js';
import type { ApiContext } from '../context.js';
import { RunsArgs } from '../types/args.js';
import { Image } from '../types/image.js';
import { RunConnection } from '../types/run-connection.js';
import { RunEstimate } from '../types/run-estimate.js';
import { Run, RunEpoch, RunFrame, RunParams } from '../types/run.js';
import { StartRunInput } from '../types/start-run-input.js';

/** Images a run refers to cannot be deleted while it exists (foreign keys); the run's owner sees them (it is visible, so the caller may). */
function imageOf(ctx: ApiContext, id: string, uploaded = false): Promise<NamedImage> {
  return ctx.images.ofRun(id, ctx.caller, uploaded);
}

@Resolver(() => Run)
export class RunResolver {
  @Query(() => Run, { nullable: true, description: 'The run with this id; null when there is none (or it is another owner\'s), as for every read by id.' })
  run(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<RunRecord | null> {
    return ctx.runs.find(id, ctx.caller);
  }

  @Query(() => RunConnection, { description: 'Runs, newest first.' })
  runs(@Args(() => RunsArgs) args: RunsArgs, @Ctx() ctx: ApiContext): Promise<RunConnection> {
    return ctx.runs.list(args, ctx.caller);
  }

  @Query(() => RunEstimate, { description: 'How long startRun with this input would take, how much memory it needs and whether it fits; checks the input as startRun does and starts nothing.' })
  async estimateRun(@Arg('input', () => StartRunInput) input: StartRunInput, @Ctx() ctx: ApiContext): Promise<RunEstimate> {
    return RunEstimate.from(await ctx.runs.estimate(input, ctx.caller));
  }

  @Mutation(() => Run, { description: 'Validates, stores and queues a run; refused input writes nothing.' })
  startRun(@Arg('input', () => StartRunInput) input: StartRunInput, @Ctx() ctx: ApiContext): Promise<RunRecord> {
    return ctx.runs.start(input, ctx.caller);
  }

  @Mutation(() => Run, {
    description: 'Cancels a QUEUED or RUNNING run (a running one stops within a step); a finished run comes back as it is. '
      + 'No such run (or another owner\'s): a NOT_FOUND error, as for every mutation on an id.',
  })
  cancelRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<RunRecord> {
    return ctx.runs.cancel(id, ctx.caller);
  }

  @Mutation(() => Boolean, {
    description: 'Deletes a run (cancelling it first) and the images no other run uses; true once done. '
      + 'No such run (or another owner\'s, or one deleted meanwhile): a NOT_FOUND error, as for every mutation on an id.',
  })
  deleteRun(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<boolean> {
    return ctx.runs.delete(id, ctx.caller);
  }

  @FieldResolver(() => Image)
  contentImage(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<NamedImage> {
    return imageOf(ctx, run.contentImage, true);
  }

  @FieldResolver(() => [Image], { description: 'In the order given.' })
  styleImages(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<NamedImage[]> {
    return Promise.all(run.styleImages.map((id) => imageOf(ctx, id, true)));
  }

  @FieldResolver(() => Image, { nullable: true, description: 'The final image, once SUCCEEDED.' })
  resultImage(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<NamedImage> | null {
    return run.resultImage ? imageOf(ctx, run.resultImage) : null;
  }

  @FieldResolver(() => [RunEpoch], { description: 'The finished epochs, in order.' })
  async epochs(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<RunEpoch[]> {
    return (await ctx.runs.epochs(run)).map(RunEpoch.from);
  }

  @FieldResolver(() => RunEpoch, {
    nullable: true,
    description: 'The last finished epoch, whose preview is the picture so far (also of a CANCELED or FAILED run); null before the first. '
      + 'For lists of runs: one row read, one epoch sent.',
  })
  async latestEpoch(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<RunEpoch | null> {
    const last = await ctx.runs.latestEpoch(run);
    return last && RunEpoch.from(last);
  }

  @FieldResolver(() => Int, { description: 'The epochs of the whole run: of a run over an animation, params.epochs for each frame (its epochs are numbered over all frames).' })
  totalEpochs(@Root() run: RunRecord): number {
    return run.params.epochs * run.totalFrames;
  }

  @FieldResolver(() => [RunFrame], { description: 'The painted frames of a run over an animation, in order; empty for a still image.' })
  async frames(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<RunFrame[]> {
    return (await ctx.runs.frames(run)).map(RunFrame.from);
  }

  @FieldResolver(() => Float, { description: 'Finished epochs out of all (totalEpochs), 0..1.' })
  progress(@Root() run: RunRecord): number {
    return run.currentEpoch / this.totalEpochs(run);
  }

  @FieldResolver(() => Int, { nullable: true, description: 'How many queued runs are ahead of this one (0: next); null unless QUEUED.' })
  queuePosition(@Root() run: RunRecord, @Ctx() ctx: ApiContext): Promise<number | null> {
    return ctx.runs.queuePosition(run);
  }

  @FieldResolver(() => RunParams)
  params(@Root() run: RunRecord): TransferParams {
    return run.params;
  }
}

@Resolver(() => RunEpoch)
export class RunEpochResolver {
  @FieldResolver(() => Image, {
    nullable: true,
    description: 'The image as it stood at the end of this epoch (PNG); null once retention dropped the previews of an old run.',
  })
  async preview(@Root() epoch: RunEpoch, @Ctx() ctx: ApiContext): Promise<NamedImage | null> {
    return epoch.previewImage === null ? null : imageOf(ctx, epoch.previewImage);
  }
}

@Resolver(() => RunFrame)
export class RunFrameResolver {
  @FieldResolver(() => Image, { description: 'The painted frame (PNG), as wide and high as the result.' })
  image(@Root() frame: RunFrame, @Ctx() ctx: ApiContext): Promise<NamedImage> {
    return imageOf(ctx, frame.imageId);
  }
}
