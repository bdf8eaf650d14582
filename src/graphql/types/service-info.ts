import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What one request may ask of this server.' })
export class ServiceLimits {
  @Field(() => Int) maxImageBytes!: number;
  @Field(() => Int) maxImagePixels!: number;
  @Field(() => Int) maxDim!: number;
  @Field(() => Int, { description: 'The largest epochs x stepsPerEpoch of a run.' })
  maxTotalSteps!: number;
}

@ObjectType()
export class ServiceInfo {
  @Field({ description: 'The stylegraph version.' })
  version!: string;

  @Field(() => String, { nullable: true, description: 'The TensorFlow.js backend of the most recently started run; null before the first.' })
  backend!: string | null;

  @Field(() => String, { nullable: true, description: 'What computed the most recently started run, in words.' })
  device!: string | null;

  @Field(() => String, { nullable: true, description: 'The VGG19 weights workers load (format and path); null when none are found.' })
  weights!: string | null;

  @Field(() => Int, { description: 'Runs waiting for a worker.' })
  queueLength!: number;

  @Field(() => Int, { description: 'Runs being optimised now.' })
  runningCount!: number;

  @Field(() => ServiceLimits)
  limits!: ServiceLimits;
}
