import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A stored PNG, JPEG or WebP image. Its id is the SHA-256 of its bytes, so the same bytes are one image.' })
export class Image {
  @Field({ description: 'Lower-case hex SHA-256 of the bytes (the same as id).' })
  sha256!: string;

  @Field()
  mimeType!: string;

  @Field(() => Int, { description: 'Upright width in pixels.' })
  width!: number;

  @Field(() => Int, { description: 'Upright height in pixels.' })
  height!: number;

  @Field(() => Int)
  byteSize!: number;

  @Field()
  createdAt!: Date;
}
