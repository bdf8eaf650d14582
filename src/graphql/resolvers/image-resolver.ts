import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { StoredImage } from '../../storage/images.js';
import type { ApiContext } from '../context.js';
import { Image } from '../types/image.js';
import { UploadedFile, UploadScalar } from '../types/upload.js';

@Resolver(() => Image)
export class ImageResolver {
  @Query(() => Image, { nullable: true, description: 'The image with this id; null when there is none the caller may see, as for every read by id.' })
  image(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<StoredImage | null> {
    return ctx.images.findFor(id, ctx.caller);
  }

  @Mutation(() => Image, { description: 'Stores an image given as a base64 data URL (PNG, JPEG or WebP).' })
  createImage(@Arg('dataUrl') dataUrl: string, @Ctx() ctx: ApiContext): Promise<StoredImage> {
    return ctx.images.addDataUrl(dataUrl, 'dataUrl', ctx.caller);
  }

  @Mutation(() => Image, {
    description: 'Stores an uploaded image (PNG, JPEG or WebP) sent as a GraphQL multipart request, '
      + 'with an `apollo-require-preflight: true` header (cross-site request forgery protection).',
  })
  uploadImage(@Arg('file', () => UploadScalar) file: UploadedFile, @Ctx() ctx: ApiContext): Promise<StoredImage> {
    return ctx.images.addBytes(file.bytes, 'file', ctx.caller, file.mimeType);
  }

  @FieldResolver(() => ID)
  id(@Root() image: StoredImage): string {
    return image.sha256;
  }

  @FieldResolver(() => String, { description: 'Where to GET the bytes (immutable: cache them).' })
  url(@Root() image: StoredImage, @Ctx() ctx: ApiContext): string {
    return `${ctx.baseUrl}/images/${image.sha256}`;
  }
}
