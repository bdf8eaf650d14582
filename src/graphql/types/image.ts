import { Field, Int, ObjectType } from 'type-graphql';
import { MAX_FILE_NAME_LENGTH } from '../../images/image-library.js';

@ObjectType({
  description: 'A stored PNG, JPEG, WebP or GIF image, still or (GIF, WebP) animated, or an MP4 or WebM video. Its id is the SHA-256 of its bytes, so the same bytes are one image.',
})
export class Image {
  @Field({ description: 'Lower-case hex SHA-256 of the bytes (the same as id).' })
  sha256!: string;

  @Field()
  mimeType!: string;

  @Field(() => Int, { description: 'Upright width in pixels (of one frame).' })
  width!: number;

  @Field(() => Int, { description: 'Upright height in pixels (of one frame).' })
  height!: number;

  @Field(() => Int, { description: 'Frames: 1 for a still image (a one-frame GIF too).' })
  frames!: number;

  @Field(() => Int, { nullable: true, description: 'How long one pass of an animation lasts, in milliseconds: the sum of its frame delays; null for a still image.' })
  durationMs!: number | null;

  @Field(() => Int)
  byteSize!: number;

  @Field()
  createdAt!: Date;

  @Field(() => String, {
    nullable: true,
    description: 'The name the caller gave the file when they uploaded it (their latest upload of these bytes that gave one), '
      + `without its directory, at most ${MAX_FILE_NAME_LENGTH} characters. Each owner sees their own name; `
      + 'null when none was given, for images a run made and for the presets\' paintings (the preset names those).',
  })
  fileName!: string | null;
}
