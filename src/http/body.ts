import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** The whole request body, refused with 413 past `maxBytes` (before reading, when Content-Length says so). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request bodies are limited to ${maxBytes} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
