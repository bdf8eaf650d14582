import { Field, Int, ObjectType } from 'type-graphql';
import type { EpochRecord, RunRecord } from '../../runs/types.js';
import { RunEventKind } from './enums.js';
import { Run, RunEpoch } from './run.js';

@ObjectType({ description: 'Something that happened to a run.' })
export class RunEvent {
  @Field(() => Int, { description: 'Rises by one with each event of the run, starting at 1 (its creation); a replayed event keeps its number.' })
  sequence!: number;

  @Field(() => RunEventKind)
  kind!: RunEventKind;

  @Field(() => Run, { description: 'The run as it stood at this event.' })
  run!: RunRecord;

  @Field(() => RunEpoch, { nullable: true, description: 'The finished epoch, for EPOCH events.' })
  epoch!: RunEpoch | null;

  static status(sequence: number, run: RunRecord): RunEvent {
    return { sequence, kind: RunEventKind.STATUS, run, epoch: null };
  }

  static epoch(sequence: number, run: RunRecord, epoch: EpochRecord): RunEvent {
    return { sequence, kind: RunEventKind.EPOCH, run, epoch: RunEpoch.from(epoch) };
  }
}
