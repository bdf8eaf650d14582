/**
 * Downloads Keras's VGG19 weights into the cache: streamed to a temporary file
 * next to the destination, hashed on the way, renamed into place only when the
 * hash matches, so the destination never holds a partial or wrong file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheDir, KERAS_VGG19_FILENAME } from './locate';

export const KERAS_VGG19_URL = `https://storage.googleapis.com/tensorflow/keras-applications/vgg19/${KERAS_VGG19_FILENAME}`;

/** The hash Keras publishes for the file (`file_hash` of WEIGHTS_PATH_NO_TOP in keras/applications/vgg19.py). */
export const KERAS_VGG19_MD5 = '253f8cb515780f3b799900260a226db6';

/**
 * The file's SHA-256. Neither Keras nor Google publish one, and a made-up
 * value would only make every download fail, so it is unset: downloads are
 * checked against Keras's MD5 unless a SHA-256 is supplied (`--sha256`,
 * STYLEGRAPH_VGG19_SHA256). Fill it in from a download verified by MD5.
 */
export const KERAS_VGG19_SHA256: string | null = null;

export interface FetchVgg19Options {
  url?: string;
  /** Expected SHA-256 in hex; when set, the file is checked against it (and not against `md5`). */
  sha256?: string | null;
  /** Expected MD5 in hex, checked when no SHA-256 is given; default: the one Keras publishes. */
  md5?: string;
  /** Directory to save into; default: cacheDir(). */
  dest?: string;
  /** Called after each chunk; `total` is null when the server does not say. */
  onProgress?: (received: number, total: number | null) => void;
  signal?: AbortSignal;
}

export interface FetchVgg19Result {
  path: string;
  /** False when a file with the expected hash was already there. */
  downloaded: boolean;
  bytes: number;
  sha256: string;
  /** The hash the file was checked against. */
  verifiedWith: 'sha256' | 'md5';
}

export class ChecksumMismatchError extends Error {
  constructor(readonly url: string, readonly algorithm: 'sha256' | 'md5', readonly expected: string, readonly actual: string) {
    super(
      `Downloaded ${url}, but its ${algorithm === 'sha256' ? 'SHA-256' : 'MD5'} is ${actual}, not the expected ${expected}; `
      + 'the download was discarded.',
    );
    this.name = 'ChecksumMismatchError';
  }
}

interface Digests {
  sha256: string;
  md5: string;
  bytes: number;
}

/** Makes sure the weights file is in `dest` with the expected hash, downloading it if needed. */
export async function fetchVgg19Weights(options: FetchVgg19Options = {}): Promise<FetchVgg19Result> {
  const url = options.url ?? KERAS_VGG19_URL;
  const expected = expectedHash(options);
  const dir = resolve(options.dest ?? cacheDir());
  const path = join(dir, KERAS_VGG19_FILENAME);

  const present = await digestFile(path);
  if (present?.[expected.algorithm] === expected.hex) {
    return { path, downloaded: false, bytes: present.bytes, sha256: present.sha256, verifiedWith: expected.algorithm };
  }

  await mkdir(dir, { recursive: true });
  // Same directory as the destination, so the final rename stays on one file system and is atomic.
  const temp = join(dir, `.${KERAS_VGG19_FILENAME}.${randomBytes(6).toString('hex')}.part`);
  try {
    const downloaded = await download(url, temp, options);
    if (downloaded[expected.algorithm] !== expected.hex) {
      throw new ChecksumMismatchError(url, expected.algorithm, expected.hex, downloaded[expected.algorithm]);
    }
    await rename(temp, path);
    return { path, downloaded: true, bytes: downloaded.bytes, sha256: downloaded.sha256, verifiedWith: expected.algorithm };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function expectedHash(options: FetchVgg19Options): { algorithm: 'sha256' | 'md5'; hex: string } {
  const sha256 = options.sha256 === undefined ? KERAS_VGG19_SHA256 : options.sha256;
  if (sha256 !== null) return { algorithm: 'sha256', hex: checkHex('sha256', sha256, 64) };
  return { algorithm: 'md5', hex: checkHex('md5', options.md5 ?? KERAS_VGG19_MD5, 32) };
}

function checkHex(name: string, value: string, digits: number): string {
  if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(value)) {
    throw new RangeError(`${name} must be ${digits} hexadecimal digits, got "${value}"`);
  }
  return value.toLowerCase();
}

async function download(url: string, temp: string, options: FetchVgg19Options): Promise<Digests> {
  const { onProgress, signal } = options;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new Error(`Could not download ${url}: ${cause}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel(); // frees the connection
    throw new Error(`Could not download ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const total = contentLength(response);
  const file = await open(temp, 'wx');
  try {
    const digests = await digest(response.body, async (chunk, received) => {
      await file.write(chunk);
      onProgress?.(received, total);
    });
    if (total !== null && digests.bytes !== total) {
      throw new Error(`Download of ${url} stopped after ${digests.bytes} of ${total} bytes`);
    }
    await file.sync();
    return digests;
  } finally {
    await file.close();
  }
}

/** The body's length, unless the body is compressed on the wire (then the header counts compressed bytes). */
function contentLength(response: Response): number | null {
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length') ?? NaN);
  return (!encoding || encoding === 'identity') && Number.isSafeInteger(length) && length >= 0 ? length : null;
}

/** The hashes of an existing file, or null when there is none. */
async function digestFile(path: string): Promise<Digests | null> {
  try {
    return await digest(createReadStream(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** SHA-256 and MD5 of a byte stream in one pass, handing each chunk on to `onChunk`. */
async function digest(
  chunks: AsyncIterable<Uint8Array>,
  onChunk?: (chunk: Uint8Array, received: number) => Promise<void>,
): Promise<Digests> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  for await (const chunk of chunks) {
    sha256.update(chunk);
    md5.update(chunk);
    bytes += chunk.byteLength;
    await onChunk?.(chunk, bytes);
  }
  return { sha256: sha256.digest('hex'), md5: md5.digest('hex'), bytes };
}
