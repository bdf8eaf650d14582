import { ArgsType, Field, ID, Int } from 'type-graphql';
import { RunStatus } from './enums.js';

@ArgsType()
export class RunsArgs {
  @Field(() => RunStatus, { nullable: true, description: 'Only runs in this status.' })
  status?: RunStatus | null;

  @Field(() => Int, { nullable: true, description: '1..100, default 20.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

@ArgsType()
export class RunEventsArgs {
  @Field(() => ID)
  runId!: string;

  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'Leave out the epochs up to this one (0: none); status events are all replayed.' })
  sinceEpoch?: number | null;

  @Field(() => Int, {
    nullable: true,
    defaultValue: 0,
    description: 'Replay only the events numbered after this `sequence` (0: every event, from the run\'s creation). '
      + 'A client that reconnects passes the last sequence it received and so gets each event once.',
  })
  afterSequence?: number | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Also send STEP events while the run computes (live only, four a second at most). Off unless asked, '
      + 'so that a client that does not know them gets none.',
  })
  steps?: boolean | null;
}
