import { Arg, Ctx, FieldResolver, Float, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { framesPerSecond } from '../../images/animation.js';
import { MAX_FILE_NAME_LENGTH } from '../../images/image-library.js';
import type { NamedImage, StoredImage } from '../../storage/images.js';
import type { ApiContext } from '../context.js';
import { Image } from '../types/image.js';
import { UploadedFile, UploadScalar } from '../types/upload.js';

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => Image, { nullable: true, description: 'The image with this id; null when there is none the caller may see, as for every read by id.' })
  image(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<NamedImage | null> {
    return ctx.images.findFor(id, ctx.caller);
  }

  @Mutation(() => Image, {
    description: 'Stores an image given as a base64 data URL (PNG, JPEG, WebP or GIF, or an MP4 or WebM video where '
      + 'serviceInfo.acceptedTypes lists them; an animation or video within serviceInfo.limits\' '
      + 'maxFrames, maxTotalPixels and maxDurationMs, each frame within maxImagePixels).',
  })
  createImage(
    @Arg('dataUrl') dataUrl: string,
    @Arg('fileName', () => String, {
      nullable: true,
      description: `The file's name, kept as the image's fileName: a path is cut to its last part; at most ${MAX_FILE_NAME_LENGTH} characters, no control characters.`,
    }) fileName: string | null | undefined,
    @Ctx() ctx: ApiContext,
  ): Promise<NamedImage> {
    return ctx.images.addDataUrl(dataUrl, 'dataUrl', ctx.caller, { value: fileName, field: 'fileName' });
  }

  @Mutation(() => Image, {
    description: 'Stores an uploaded image or video (the types and limits createImage takes) sent as a GraphQL multipart request, '
      + 'with an `apollo-require-preflight: true` header (cross-site request forgery protection). '
      + 'The file\'s name is kept as the image\'s fileName, as createImage keeps its `fileName`; a name it refuses is an error naming `file`.',
  })
  uploadImage(@Arg('file', () => UploadScalar) file: UploadedFile, @Ctx() ctx: ApiContext): Promise<NamedImage> {
    return ctx.images.addBytes(file.bytes, 'file', ctx.caller, file.mimeType, { value: file.filename, field: 'file' });
  }

  @FieldResolver(() => ID)
  id(@Root() image: StoredImage): string {
    return image.sha256;
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description: 'An animation\'s or a video\'s average frames per second: frames x 1000 / durationMs, to two decimals (GIF delays are whole '
      + 'hundredths of a second: 3 frames of 30 ms are 33.33). Null for a still image and for an animation that declares no delays.',
  })
  fps(@Root() image: StoredImage): number | null {
    return framesPerSecond(image);
  }

  @FieldResolver(() => String, { description: 'Where to GET the bytes (immutable: cache them).' })
  url(@Root() image: StoredImage, @Ctx() ctx: ApiContext): string {
    return `${ctx.baseUrl}/images/${image.sha256}`;
  }
}
