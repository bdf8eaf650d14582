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
 * The bytes a `Range` header asks for, first to last inclusive, of an image
 * of `size` bytes: one range (`bytes=a-b`, `bytes=a-`, `bytes=-n`, as a video
 * element sends them); 'unsatisfiable' for one past the end; null for none,
 * for several (the whole image answers those) and for what is not a byte range.
 */
export function requestedRange(header: string | undefined, size: number): { first: number; last: number } | 'unsatisfiable' | null {
  const match = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 ? 'unsatisfiable' : { first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (first >= size) return 'unsatisfiable';
  return first <= last ? { first, last } : null;
}

/**
 * GET or HEAD an image. Ids are content hashes, so an image never changes:
 * its hash is the ETag and it may be cached for good. A byte range of it
 * (206) for video players, which seek by asking for one.
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
    'accept-ranges': 'bytes',
  };
  const candidates = req.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (candidates?.includes(etag) || candidates?.includes('*')) {
    res.writeHead(304, headers).end();
    return;
  }
  // If-Range: the range only of the same image; an id's bytes never change, so that is whether the tag is its own.
  const ifRange = req.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? requestedRange(req.headers.range, image.byteSize) : null;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${image.byteSize}` }).end();
    return;
  }
  const part = range ?? { first: 0, last: image.byteSize - 1 };
  const answer = range
    ? { status: 206, headers: { ...headers, 'content-type': image.mimeType, 'content-length': part.last - part.first + 1, 'content-range': `bytes ${part.first}-${part.last}/${image.byteSize}` } }
    : { status: 200, headers: { ...headers, 'content-type': image.mimeType, 'content-length': image.byteSize } };
  if (req.method === 'HEAD') {
    res.writeHead(answer.status, answer.headers).end();
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
  res.writeHead(answer.status, answer.headers);
  // Where the chunk in hand starts in the image: the part's bytes are cut out of the chunks they fall in.
  let offset = 0;
  for (let chunk = first; !chunk.done && offset <= part.last; chunk = await chunks.next()) {
    // Deleted mid-way: the response cannot be taken back, only cut short.
    if (chunk.value === null) return void res.destroy();
    const bytes = chunk.value.subarray(Math.max(0, part.first - offset), part.last + 1 - offset);
    offset += chunk.value.byteLength;
    if (bytes.byteLength > 0 && !res.write(bytes)) await drainedOrClosed(res);
    if (res.destroyed) return;
  }
  res.end();
}
