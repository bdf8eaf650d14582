import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { RunEstimate as ServiceEstimate } from '../../runs/run-service.js';

@ObjectType({ description: 'What a run would take on this server, before it is started: estimateRun.' })
export class RunEstimate {
  @Field(() => Float, {
    nullable: true,
    description: 'Seconds of computing, from step times measured on the engine that computed last (calibrated when it started, '
      + 'corrected by its runs since); null before any worker\'s engine has started. Time queued is not in it.',
  })
  seconds!: number | null;

  @Field(() => Int, { description: 'Optimisation steps, over all the frames of an animation (0 in mode FAST).' })
  steps!: number;

  @Field(() => Float, { description: 'The worker process\'s memory at the run\'s peak, in bytes.' })
  peakMemoryBytes!: number;

  @Field(() => Float, { nullable: true, description: 'Of it, the WebAssembly heap; null on backends without one.' })
  heapBytes!: number | null;

  @Field(() => Float, { nullable: true, description: 'The heap\'s limit (4 GiB); null where none applies.' })
  heapLimitBytes!: number | null;

  @Field({ description: 'Whether it fits the engine\'s memory; startRun refuses it otherwise (BAD_USER_INPUT naming maxDim or styleScale).' })
  fits!: boolean;

  @Field(() => Int, { nullable: true, description: 'The largest maxDim that fits for these images and styleScale; null where memory is not limited so.' })
  largestMaxDim!: number | null;

  @Field(() => String, { description: 'The backend it is for: the latest engine\'s, or "wasm" (the tightest) before any started.' })
  backend!: string;

  @Field(() => String, { nullable: true, description: 'What computes it, in words; null before any engine started.' })
  device!: string | null;

  @Field(() => Int, { nullable: true, description: 'CPU threads of that engine; null where libtensorflow chooses or unknown.' })
  threads!: number | null;

  @Field(() => Int, { description: 'Runs of that engine whose measured times have corrected the estimate.' })
  measuredRuns!: number;

  static from(estimate: ServiceEstimate): RunEstimate {
    const { memory, engine } = estimate;
    return {
      seconds: estimate.seconds,
      steps: estimate.steps,
      peakMemoryBytes: memory.processBytes,
      heapBytes: memory.heapLimitBytes === null ? null : memory.heapBytes,
      heapLimitBytes: memory.heapLimitBytes,
      fits: memory.fits,
      largestMaxDim: estimate.largestMaxDim,
      backend: estimate.backend,
      device: engine?.device ?? null,
      threads: engine?.threads ?? null,
      measuredRuns: engine?.runs ?? 0,
    };
  }
}
