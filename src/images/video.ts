/**
 * MP4 and WebM videos in and out, through ffmpeg and ffprobe (video-tools):
 * measured from the container's header and held to the animation limits
 * before a frame is decoded, decoded once to count and prove the frames,
 * then read as still frames at a constant rate and written back, painted,
 * as a video of the same kind with the source's audio.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ImageError } from '../engine/index.js';
import type { ApiLimits } from '../runs/limits.js';
import type { FrameInfo, ImageInfo } from '../storage/images.js';
import { checkFrameLimits } from './animation.js';
import { runTool, ToolTimeout, type ToolOutput, type ToolRun, type VideoTools } from './video-tools.js';

export type VideoFormat = 'mp4' | 'webm';

/** A video as its header declares it (`frames`: counted by decodeVideo once it is decoded). */
export interface Video extends ImageInfo, FrameInfo {
  format: VideoFormat;
  /** Frames per second as a fraction ("30000/1001"): the frames are read, and written back, at this constant rate. */
  frameRate: string;
}

const MIME_TYPES: Record<VideoFormat, string> = { mp4: 'video/mp4', webm: 'video/webm' };
/** ISO base media brands of video files (what `ftyp` names first); AVIF and HEIF images share the container and are not videos. */
const MP4_BRANDS = new Set(['isom', 'iso2', 'iso3', 'iso4', 'iso5', 'iso6', 'mp41', 'mp42', 'avc1', 'M4V ', 'dash', 'mmp4', 'MSNV']);
/** Generous: a cold start of the static ffprobe reads its 79 MB from disk (measured: 18 s at 4.4 MB/s on a CI machine). */
const PROBE_TIMEOUT_MS = 120_000;
/** Decoding or encoding at most the limits' frames of the limits' size. */
const CODEC_TIMEOUT_MS = 10 * 60_000;
const PROBE_OUTPUT_BYTES = 1 << 20;

/** Which video the bytes are, from their first bytes; null for anything else. */
export function sniffVideoFormat(bytes: Uint8Array): VideoFormat | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 64));
  if (head.length < 12) return null;
  if (head.toString('latin1', 4, 8) === 'ftyp' && MP4_BRANDS.has(head.toString('latin1', 8, 12))) return 'mp4';
  // EBML, then a DocType element (0x4282) that says webm.
  if (head.readUInt32BE(0) === 0x1a45dfa3 && head.includes(Buffer.from([0x42, 0x82])) && head.includes('webm', 0, 'latin1')) return 'webm';
  return null;
}

export function videoMimeType(format: VideoFormat): string {
  return MIME_TYPES[format];
}

/**
 * The video the bytes hold, from its header (ffprobe reads no frame), refused
 * naming `field` if it declares a frame, a frame count, pixels in all or a
 * duration over the limits. A frame count the header leaves out (WebM) is
 * its duration times its frame rate; decodeVideo counts the real ones.
 */
export async function probeVideo(bytes: Uint8Array, format: VideoFormat, field: string, limits: ApiLimits, tools: VideoTools): Promise<Video> {
  const video = await withFile(bytes, format, (file) => describe(file, format, tools));
  checkFrameLimits(video, field, limits);
  return video;
}

/**
 * Decodes every frame as a run will read them, keeping none, so that a
 * truncated or corrupt file is refused now, and the frames are counted. The
 * decoder is stopped one frame past the limits: a header that understates
 * its frames decodes no more than an honest one.
 */
export async function decodeVideo(bytes: Uint8Array, video: Video, field: string, limits: ApiLimits, tools: VideoTools): Promise<FrameInfo> {
  const framePixels = video.width * video.height;
  const maxFrames = Math.min(limits.maxFrames, Math.floor(limits.maxTotalPixels / framePixels)) + 1;
  const { frames } = await withFile(bytes, video.format, (file) => decodeFrames(file, video, tools, maxFrames, () => {}));
  const counted = { width: video.width, height: video.height, frames, durationMs: durationOf(frames, video.frameRate) };
  checkFrameLimits(counted, field, limits);
  return { frames, durationMs: counted.durationMs };
}

/** A stored video's frames as PNG images, upright, at its constant frame rate. */
export async function readVideoFrames(bytes: Uint8Array, format: VideoFormat, tools: VideoTools): Promise<{ video: Video; frames: Uint8Array[] }> {
  return withFile(bytes, format, async (file) => {
    const video = await describe(file, format, tools);
    const raw: Buffer[] = [];
    // Stored videos were within the limits when they came in.
    await decodeFrames(file, video, tools, Number.MAX_SAFE_INTEGER, (frame) => raw.push(frame));
    const png = (pixels: Buffer) => sharp(pixels, { raw: { width: video.width, height: video.height, channels: 3 } }).png().toBuffer();
    const frames: Uint8Array[] = [];
    for (const frame of raw) frames.push(await png(frame));
    return { video: { ...video, frames: frames.length, durationMs: durationOf(frames.length, video.frameRate) }, frames };
  });
}

/** An encoded video, described as the images table stores it. */
export interface EncodedVideo extends ImageInfo, FrameInfo {
  bytes: Uint8Array;
}

/**
 * The painted frames (PNG, all one size) as a video of `format` at
 * `frameRate`, with the audio of `source` (the content video) copied as it
 * is. 4:2:0 video, the kind every browser plays, is made of 2x2 blocks: an
 * odd width or height loses its last column or row.
 */
export async function writeVideo(format: VideoFormat, frameRate: string, painted: Uint8Array[], source: Uint8Array, tools: VideoTools): Promise<EncodedVideo> {
  // The frames' size from the first one's header (PNG, all one size): the pixels are decoded once, below.
  const info = await sharp(painted[0]).metadata();
  const raw = await Promise.all(painted.map((frame) => sharp(frame).removeAlpha().raw().toBuffer()));
  const width = info.width - (info.width % 2);
  const height = info.height - (info.height % 2);
  const codec = format === 'mp4'
    // faststart: the index first, so a browser plays the file as it downloads.
    ? ['-c:v', 'libx264', '-preset', 'medium', '-crf', '18', '-movflags', '+faststart']
    : ['-c:v', 'libvpx-vp9', '-crf', '24', '-b:v', '0', '-deadline', 'good', '-cpu-used', '2'];
  const bytes = await withFile(source, format, async (sourceFile) => {
    const output = path.join(path.dirname(sourceFile), `painted.${format}`);
    const { stderr, code } = await runTool(tools.ffmpeg, [
      '-v', 'error',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${info.width}x${info.height}`, '-r', frameRate, '-i', 'pipe:0',
      '-i', sourceFile,
      // The source's audio, if it has any, untouched.
      '-map', '0:v:0', '-map', '1:a?', '-c:a', 'copy',
      '-vf', `crop=${width}:${height}:0:0`, '-pix_fmt', 'yuv420p', ...codec,
      '-f', format, output,
    ], { input: Buffer.concat(raw), maxStdoutBytes: 0, timeoutMs: CODEC_TIMEOUT_MS });
    if (code !== 0) throw new Error(`ffmpeg could not write the ${format.toUpperCase()} video: ${stderr || `exit code ${code}`}`);
    return readFile(output);
  });
  return { mimeType: MIME_TYPES[format], width, height, bytes, frames: painted.length, durationMs: durationOf(painted.length, frameRate) };
}

/** What ffprobe says of the file's first video stream. */
interface ProbedStream {
  codec_type?: string;
  width?: number;
  height?: number;
  nb_frames?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

async function describe(file: string, format: VideoFormat, tools: VideoTools): Promise<Video> {
  const { stdout, stderr, code } = await reading(format, tools.ffprobe, [
    '-v', 'error', '-of', 'json',
    '-show_entries', 'stream=codec_type,width,height,nb_frames,avg_frame_rate,r_frame_rate,duration:stream_tags=rotate:stream_side_data=rotation:format=duration',
    file,
  ], { maxStdoutBytes: PROBE_OUTPUT_BYTES, timeoutMs: PROBE_TIMEOUT_MS });
  // What it complains of beyond that (a broken frame it met looking at the first ones) is left to decodeFrames.
  if (code !== 0) throw corrupt(format, stderr || `ffprobe exit code ${code}`);
  const probed = JSON.parse(stdout.toString('utf8')) as { streams?: ProbedStream[]; format?: { duration?: string } };
  const stream = probed.streams?.find((s) => s.codec_type === 'video');
  if (!stream || !stream.width || !stream.height) throw corrupt(format, stderr || 'no video stream');
  const frameRate = [stream.avg_frame_rate, stream.r_frame_rate].find((rate) => rate !== undefined && ratio(rate) > 0);
  if (!frameRate) throw corrupt(format, 'no frame rate');
  // Decoding turns a frame the header says is shown rotated upright, as a phone's portrait video.
  const rotation = Number(stream.tags?.rotate ?? stream.side_data_list?.find((data) => data.rotation !== undefined)?.rotation ?? 0);
  const turned = Math.abs(rotation) % 180 === 90;
  const seconds = Number(stream.duration ?? probed.format?.duration);
  const frames = stream.nb_frames ? Number(stream.nb_frames) : Number.isFinite(seconds) ? Math.round(seconds * ratio(frameRate)) : 0;
  return {
    format, mimeType: MIME_TYPES[format], frameRate,
    width: turned ? stream.height : stream.width,
    height: turned ? stream.width : stream.height,
    frames, durationMs: durationOf(frames, frameRate),
  };
}

/**
 * Decodes the video's first video stream into RGB frames of its upright size
 * at its constant frame rate (frames dropped or repeated to keep it, as a
 * player shows them), handing each to `onFrame`; at most `maxFrames`.
 * Anything the decoder complains of makes the file corrupt.
 */
async function decodeFrames(file: string, video: Video, tools: VideoTools, maxFrames: number, onFrame: (frame: Buffer) => void): Promise<{ frames: number }> {
  const frameBytes = video.width * video.height * 3;
  // The pieces of the frame being read, joined once it is whole: joining at each piece would copy a large frame over and over.
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  const { stderr, code, stdoutBytes } = await reading(video.format, tools.ffmpeg, [
    '-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0',
    // The size is the one measured from the header, whatever the stream does later: each frame is frameBytes.
    '-vf', `fps=${video.frameRate},scale=${video.width}:${video.height}`,
    '-frames:v', String(maxFrames), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ], {
    onStdout: (chunk) => {
      pieces.push(chunk);
      pieceBytes += chunk.length;
      if (pieceBytes < frameBytes) return;
      let joined = Buffer.concat(pieces, pieceBytes);
      while (joined.length >= frameBytes) {
        onFrame(joined.subarray(0, frameBytes));
        joined = joined.subarray(frameBytes);
      }
      pieces = joined.length > 0 ? [joined] : [];
      pieceBytes = joined.length;
    },
    maxStdoutBytes: maxFrames * frameBytes,
    timeoutMs: CODEC_TIMEOUT_MS,
  });
  if (code !== 0 || stderr) throw corrupt(video.format, stderr || `ffmpeg exit code ${code}`);
  const frames = Math.floor(stdoutBytes / frameBytes);
  if (frames === 0) throw corrupt(video.format, 'no frame could be decoded');
  return { frames };
}

/** runTool on an uploaded or stored video: one that takes it past its time is refused as unreadable. */
async function reading(format: VideoFormat, binary: string, args: string[], run: ToolRun): Promise<ToolOutput & { stdoutBytes: number }> {
  try {
    return await runTool(binary, args, run);
  } catch (error) {
    if (error instanceof ToolTimeout) throw corrupt(format, `${error.message} reading it`);
    throw error;
  }
}

/** How long `frames` frames last at `frameRate`, in whole ms. */
function durationOf(frames: number, frameRate: string): number {
  return Math.round(frames * 1000 / ratio(frameRate));
}

/** "30000/1001" as a number; NaN for anything else. */
function ratio(fraction: string): number {
  const match = /^(\d+)\/(\d+)$/.exec(fraction);
  return match && Number(match[2]) > 0 ? Number(match[1]) / Number(match[2]) : Number.NaN;
}

/** Runs `use` on the bytes written to a file of their own (an MP4's index may sit at its end: ffmpeg must seek). */
async function withFile<T>(bytes: Uint8Array, format: VideoFormat, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stylegraph-video-'));
  try {
    const file = path.join(dir, `source.${format}`);
    await writeFile(file, bytes);
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function corrupt(format: VideoFormat, detail: string): ImageError {
  return new ImageError('CORRUPT', `corrupt or truncated ${format.toUpperCase()} video: ${detail.split('\n')[0]}`);
}
