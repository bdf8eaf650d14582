/**
 * The content a run paints frame by frame: GIF and animated WebP images
 * (animation.ts, with sharp) and MP4 and WebM videos (video.ts, with ffmpeg,
 * where the server has it). One place says which kinds move, how they are
 * checked when they come in, and how a run reads their frames and gives back
 * the painted ones as the same kind.
 */
import { ParamError } from '../engine/index.js';
import type { ApiLimits } from '../runs/limits.js';
import type { FrameInfo, ImageInfo } from '../storage/images.js';
import { decodeAnimation, probeAnimation, readFrames, writeAnimation, type AnimationFormat } from './animation.js';
import { decodeVideo, probeVideo, readVideoFrames, sniffVideoFormat, videoMimeType, writeVideo, type Video, type VideoFormat } from './video.js';
import type { VideoTools } from './video-tools.js';

/** Still images every server takes; the engine reads them. */
const STILL_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const VIDEO_FORMATS: readonly VideoFormat[] = ['mp4', 'webm'];
/** Videos: taken where the server has ffmpeg. */
const VIDEO_TYPES = VIDEO_FORMATS.map(videoMimeType);
/** Every type there is, as the messages name them. */
const KNOWN_TYPES = [...STILL_TYPES, ...VIDEO_TYPES];
const KNOWN_KINDS = 'PNG, JPEG, WebP or GIF images and MP4 or WebM videos';
/** Other names clients declare those types by. */
const TYPE_ALIASES: Record<string, string> = { 'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg' };
/** Declared types that say nothing of what the file is. */
const UNDECLARED = new Set(['', 'application/octet-stream']);

/**
 * The type a declared (data URL or upload) type names, which the bytes must
 * then be; undefined when nothing is declared; refused, naming `field`, when
 * it is no type there is. A video declared where there is no ffmpeg passes
 * here: `probe` says what the server lacks.
 */
export function checkDeclaredType(raw: string, field: string): string | undefined {
  const type = raw.trim().toLowerCase();
  if (UNDECLARED.has(type)) return undefined;
  const named = TYPE_ALIASES[type] ?? type;
  if (!KNOWN_TYPES.includes(named)) throw new ParamError(field, `is declared as "${raw.slice(0, 100)}"; this server accepts ${KNOWN_KINDS} only`);
  return named;
}

/** A moving image as it came in: its header's measure, and for a video what reading it again needs. */
export type MovingImage = ImageInfo & FrameInfo & ({ format: AnimationFormat } | Video);

/** A run's content as frames. */
export interface FrameSequence {
  /** Each frame as a still PNG image, upright, in order. */
  frames: Uint8Array[];
  /** How long each frame is shown, in ms. */
  delaysMs: number[];
  /** The painted frames (PNG, all one size) as the content's kind, timed as it is (a video with its audio). */
  join(painted: Uint8Array[]): Promise<ImageInfo & FrameInfo & { bytes: Uint8Array }>;
}

export class MovingImages {
  /** `video`: where ffmpeg and ffprobe are (locateVideoTools); null: videos are refused. */
  constructor(readonly video: VideoTools | null) {}

  /** The MIME types uploads may be: videos only where ffmpeg is. */
  get acceptedTypes(): string[] {
    return [...(this.video ? KNOWN_TYPES : STILL_TYPES)];
  }

  /**
   * The moving image the bytes hold, measured from its header and refused
   * (naming `field`) over the limits; null for a still image. A video on a
   * server without ffmpeg is refused saying so.
   */
  async probe(bytes: Uint8Array, field: string, limits: ApiLimits): Promise<MovingImage | null> {
    const videoFormat = sniffVideoFormat(bytes);
    if (!videoFormat) return probeAnimation(bytes, field, limits);
    if (!this.video) {
      throw new ParamError(field, `is ${videoFormat === 'mp4' ? 'an MP4' : 'a WebM'} video; this server has no ffmpeg to read videos with (GIF and animated WebP images work)`);
    }
    return probeVideo(bytes, videoFormat, field, limits, this.video);
  }

  /** Decodes it all once, so a corrupt file is refused before it is stored; its frames as counted (a video's header may only estimate them). */
  async decode(bytes: Uint8Array, image: MovingImage, field: string, limits: ApiLimits): Promise<FrameInfo> {
    if ('frameRate' in image) return decodeVideo(bytes, image, field, limits, this.tools());
    await decodeAnimation(bytes, image, limits);
    return image;
  }

  /** A stored moving image's frames, and how to join painted ones back. */
  async read(bytes: Uint8Array): Promise<FrameSequence> {
    const videoFormat = sniffVideoFormat(bytes);
    if (videoFormat) {
      const tools = this.tools();
      const { video, frames } = await readVideoFrames(bytes, videoFormat, tools);
      // A video's frames are evenly spaced: each is shown 1/fps, to the ms.
      const delayMs = Math.round(video.durationMs! / frames.length);
      return {
        frames, delaysMs: frames.map(() => delayMs),
        // The source is written to a file again for its sound: one kept through a run of hours would be left behind by a crash.
        join: (painted) => writeVideo(videoFormat, video.frameRate, painted, bytes, tools),
      };
    }
    const { format, frames, delaysMs, loop } = await readFrames(bytes);
    return { frames, delaysMs, join: (painted) => writeAnimation(format, painted, delaysMs, loop) };
  }

  private tools(): VideoTools {
    // A video stored by a server with ffmpeg, read where there is none.
    if (!this.video) throw new Error('this process has no ffmpeg to read and write videos with (STYLEGRAPH_FFMPEG, STYLEGRAPH_FFPROBE)');
    return this.video;
  }
}
