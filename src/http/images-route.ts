import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { ImageLibrary } from '../images/image-library.js';

/** Until the response can take more, or the client is gone. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Where images are served: `${IMAGES_PATH}/<sha256>`. */
export const IMAGES_PATH = '/images';

/**
 * GET or HEAD an image. Ids are content hashes, so an image never changes:
 * its hash is the ETag and it may be cached for good.
 */
export async function serveImage(images: ImageLibrary, id: string, req: IncomingMessage, res: ServerResponse, caller: Caller): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  // Another owner's image is answered as if it did not exist.
  const image = await images.findFor(id, caller);
  if (!image) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('no such image\n');
    return;
  }
  const etag = `"${image.sha256}"`;
  const headers = {
    etag,
    // Private once images have owners: a shared cache must not hand one owner's image to another.
    'cache-control': `${caller.ownerId === null ? 'public' : 'private'}, max-age=31536000, immutable`,
    'x-content-type-options': 'nosniff',
  };
  const candidates = req.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (candidates?.includes(etag) || candidates?.includes('*')) {
    res.writeHead(304, headers).end();
    return;
  }
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...headers, 'content-type': image.mimeType, 'content-length': image.byteSize }).end();
    return;
  }
  // Streamed in chunks, so that other requests are answered while a large image goes out.
  const chunks = images.chunks(image);
  // The first chunk is read before answering: the image may be deleted in between (its run deleted).
  const first = await chunks.next();
  if (first.value === null) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('no such image\n');
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': image.mimeType, 'content-length': image.byteSize });
  for (let chunk = first; !chunk.done; chunk = await chunks.next()) {
    // Deleted mid-way: the response cannot be taken back, only cut short.
    if (chunk.value === null) return void res.destroy();
    if (!res.write(chunk.value)) await drainedOrClosed(res);
    if (res.destroyed) return;
  }
  res.end();
}
