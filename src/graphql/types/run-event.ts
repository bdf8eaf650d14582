import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { EpochRecord, FrameRecord, RunRecord, RunStep as StepRecord } from '../../runs/types.js';
import { RunEventKind, RunStatus } from './enums.js';
import { Run, RunEpoch, RunFrame } from './run.js';

@ObjectType({ description: 'How far a running run has come within its epoch: a sample of its steps, four a second at most.' })
export class RunStep {
  @Field(() => Int, { description: 'Optimization steps taken so far, this one included (numbered as RunEpoch.step).' })
  step!: number;

  @Field(() => Int, { description: 'The epoch in progress, 1-based: the one this step belongs to.' })
  epoch!: number;

  @Field(() => Float, { description: 'The total loss of the image this step started from, so one step behind `step`.' })
  totalLoss!: number;

  @Field(() => Int, { description: 'Optimization time from the run\'s start to this step (as RunEpoch.elapsedMs).' })
  elapsedMs!: number;

  @Field(() => Float, { description: 'Steps a second lately: since the previous STEP event (epochs\' previews included), or, for the first after a start, of its own step.' })
  stepsPerSecond!: number;

  static from({ step, epoch, totalLoss, elapsedMs, stepsPerSecond }: StepRecord): RunStep {
    return { step, epoch, totalLoss, elapsedMs: Math.round(elapsedMs), stepsPerSecond };
  }
}

@ObjectType({ description: 'Something that happened to a run.' })
export class RunEvent {
  @Field(() => Int, {
    description: 'Rises by one with each event of the run, starting at 1 (its creation); a replayed event keeps its number. '
      + 'A STEP event is not numbered: it carries the number of the event sent before it, so resuming with afterSequence is unchanged.',
  })
  sequence!: number;

  @Field(() => RunEventKind)
  kind!: RunEventKind;

  @Field(() => RunStatus, { description: 'The run\'s status right after this event (RUNNING for EPOCH, FRAME and STEP events). Read this, not `run.status`, to follow the run event by event.' })
  status!: RunStatus;

  // A normalised cache (Apollo Client, urql's graphcache) stores `run` under the run's id: a replayed
  // event carrying the run as it was then would turn a finished run back into a running one.
  @Field(() => Run, {
    description: 'The run as it is now (as it stands when the event is sent, so a replayed event carries the run\'s latest state, '
      + 'not its state back then): safe to merge into a normalised cache. For the state at the event, read `status` and `epoch`.',
  })
  run!: RunRecord;

  @Field(() => RunEpoch, { nullable: true, description: 'The finished epoch, for EPOCH events.' })
  epoch!: RunEpoch | null;

  @Field(() => RunFrame, { nullable: true, description: 'The painted frame, for FRAME events.' })
  frame!: RunFrame | null;

  @Field(() => RunStep, { nullable: true, description: 'Where the run stands, for STEP events.' })
  step!: RunStep | null;

  static status(sequence: number, status: RunStatus, run: RunRecord): RunEvent {
    return { sequence, kind: RunEventKind.STATUS, status, run, epoch: null, frame: null, step: null };
  }

  static epoch(sequence: number, run: RunRecord, epoch: EpochRecord): RunEvent {
    return { sequence, kind: RunEventKind.EPOCH, status: RunStatus.RUNNING, run, epoch: RunEpoch.from(epoch), frame: null, step: null };
  }

  static frame(sequence: number, run: RunRecord, frame: FrameRecord): RunEvent {
    return { sequence, kind: RunEventKind.FRAME, status: RunStatus.RUNNING, run, epoch: null, frame: RunFrame.from(frame), step: null };
  }

  static step(sequence: number, run: RunRecord, step: StepRecord): RunEvent {
    return { sequence, kind: RunEventKind.STEP, status: RunStatus.RUNNING, run, epoch: null, frame: null, step: RunStep.from(step) };
  }
}
