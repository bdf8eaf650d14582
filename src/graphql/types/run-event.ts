import { Field, Int, ObjectType } from 'type-graphql';
import type { EpochRecord, RunRecord } from '../../runs/types.js';
import { RunEventKind, RunStatus } from './enums.js';
import { Run, RunEpoch } from './run.js';

@ObjectType({ description: 'Something that happened to a run.' })
export class RunEvent {
  @Field(() => Int, { description: 'Rises by one with each event of the run, starting at 1 (its creation); a replayed event keeps its number.' })
  sequence!: number;

  @Field(() => RunEventKind)
  kind!: RunEventKind;

  @Field(() => RunStatus, { description: 'The run\'s status right after this event (RUNNING for EPOCH events). Read this, not `run.status`, to follow the run event by event.' })
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

  static status(sequence: number, status: RunStatus, run: RunRecord): RunEvent {
    return { sequence, kind: RunEventKind.STATUS, status, run, epoch: null };
  }

  static epoch(sequence: number, run: RunRecord, epoch: EpochRecord): RunEvent {
    return { sequence, kind: RunEventKind.EPOCH, status: RunStatus.RUNNING, run, epoch: RunEpoch.from(epoch) };
  }
}
