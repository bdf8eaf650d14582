/** Edits PNG files at the chunk level, to build inputs no encoder would write. */
import { crc32 } from 'node:zlib';

const SIGNATURE_BYTES = 8;
/** IHDR is always the first chunk: length, type, 13 bytes of data, CRC. */
const IHDR_END = SIGNATURE_BYTES + 4 + 4 + 13 + 4;

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const chunk = Buffer.alloc(4 + typeAndData.length + 4);
  chunk.writeUInt32BE(data.length, 0);
  typeAndData.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typeAndData), 4 + typeAndData.length);
  return chunk;
}

/** The same PNG with its header claiming `width` x `height` (pixel data unchanged), CRC fixed. */
export function withPngSize(png: Buffer, width: number, height: number): Buffer {
  const ihdrData = Buffer.from(png.subarray(SIGNATURE_BYTES + 8, SIGNATURE_BYTES + 8 + 13));
  ihdrData.writeUInt32BE(width, 0);
  ihdrData.writeUInt32BE(height, 4);
  return Buffer.concat([png.subarray(0, SIGNATURE_BYTES), pngChunk('IHDR', ihdrData), png.subarray(IHDR_END)]);
}

/** The same PNG with one more chunk right after IHDR (where APNG puts acTL). */
export function withChunkAfterIhdr(png: Buffer, chunk: Buffer): Buffer {
  return Buffer.concat([png.subarray(0, IHDR_END), chunk, png.subarray(IHDR_END)]);
}
