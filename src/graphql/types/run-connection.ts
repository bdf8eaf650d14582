import { Field, ObjectType } from 'type-graphql';
import type { RunRecord } from '../../runs/types.js';
import { Run } from './run.js';

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field({ description: 'Whether runs newer than this page exist: true when it was asked for `after` a cursor (runs are paged forward only).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'The cursor of the first run on the page; null on an empty page.' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page; null on an empty page. Cursors are opaque.' })
  endCursor!: string | null;
}

@ObjectType()
export class RunEdge {
  @Field()
  cursor!: string;

  @Field(() => Run)
  node!: RunRecord;
}

@ObjectType({ description: 'Runs, newest first.' })
export class RunConnection {
  @Field(() => [RunEdge])
  edges!: RunEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
