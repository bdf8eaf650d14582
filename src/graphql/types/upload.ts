import { GraphQLError, GraphQLScalarType } from 'graphql';

/** A file of a GraphQL multipart request, read into memory by the HTTP layer (within the size limits). */
export class UploadedFile {
  constructor(readonly filename: string, readonly mimeType: string, readonly bytes: Uint8Array) {}
}

export const UploadScalar = new GraphQLScalarType<UploadedFile, never>({
  name: 'Upload',
  description: 'A file sent as a part of a GraphQL multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec).',
  parseValue(value) {
    if (value instanceof UploadedFile) return value;
    throw new GraphQLError('Upload values must be files of a multipart request');
  },
  parseLiteral() {
    throw new GraphQLError('Upload values must be files of a multipart request, not literals');
  },
  serialize() {
    throw new GraphQLError('Upload is an input type only');
  },
});
