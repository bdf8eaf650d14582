import { Args, Resolver, Root, Subscription } from 'type-graphql';
import type { ApiContext } from '../context.js';
import { openRunEventFeed } from '../run-event-feed.js';
import { RunEventsArgs } from '../types/args.js';
import { RunEvent } from '../types/run-event.js';

@Resolver()
export class RunEventsResolver {
  @Subscription(() => RunEvent, {
    description: 'The run\'s events so far (every one numbered after afterSequence: its creation, its start, its epochs, its final status), '
      + 'then live events, in order and each once; completes after the run\'s final status (at once, after the replay, for a finished run). '
      + 'To resume after a dropped connection, subscribe again with afterSequence = the last sequence received. '
      + 'With `steps`, STEP events come between them while the run computes (live only: a resumed or late subscription gets those still to come). '
      + 'No such run (or another owner\'s): the one result is a NOT_FOUND error, then the subscription completes.',
    subscribe: ({ args, context }) => {
      const { runId, sinceEpoch, afterSequence, steps } = args as RunEventsArgs;
      const ctx = context as ApiContext;
      const from = { sinceEpoch: sinceEpoch ?? 0, afterSequence: afterSequence ?? 0, steps: steps ?? false };
      return openRunEventFeed(ctx, runId, from, ctx.caller, ctx.feedOptions);
    },
  })
  runEvents(@Root() event: RunEvent, @Args(() => RunEventsArgs) _args: RunEventsArgs): RunEvent {
    return event;
  }
}
