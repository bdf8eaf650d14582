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

  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'Replay the stored epochs after this one (0: all).' })
  sinceEpoch?: number | null;
}
