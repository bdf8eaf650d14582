import { Field, ObjectType } from 'type-graphql';
import { Image } from './image.js';

@ObjectType({ description: 'A trained fast-style network (Johnson et al. 2016): what startRun\'s `preset` names in modes FAST and FAST_THEN_OPTIMIZE.' })
export class Preset {
  @Field({ description: 'What `preset` takes, e.g. "wave".' })
  name!: string;

  @Field({ description: 'The painting\'s title, e.g. "The Great Wave off Kanagawa".' })
  title!: string;

  @Field(() => String, { nullable: true, description: 'The painter, where known.' })
  artist!: string | null;

  @Field(() => Image, { nullable: true, description: 'The painting the network was trained on, the style image of its runs; null when the network comes without it.' })
  painting!: Image | null;
}
