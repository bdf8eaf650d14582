/**
 * Where ffmpeg and ffprobe are, and how one is run. Videos (MP4, WebM) are
 * read and written by them; a server without them still takes GIF and WebP
 * animations, and refuses videos saying why.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';

export interface VideoTools {
  ffmpeg: string;
  ffprobe: string;
}

/** Packages that ship a static build inside them (optional dependencies: an install without them still works). */
const PACKAGED = { ffmpeg: '@ffmpeg-installer/ffmpeg', ffprobe: '@ffprobe-installer/ffprobe' } as const;

/**
 * STYLEGRAPH_FFMPEG and STYLEGRAPH_FFPROBE: a path each, or `off` (either
 * off: no videos). Unset: the binaries of the npm packages, else those on the
 * PATH. Null where none is found (or one is not executable: an install with
 * --ignore-scripts leaves ffprobe without its execute bit).
 */
export function locateVideoTools(env: NodeJS.ProcessEnv = process.env): VideoTools | null {
  const ffmpeg = locate(env, 'ffmpeg');
  const ffprobe = locate(env, 'ffprobe');
  return ffmpeg && ffprobe ? { ffmpeg, ffprobe } : null;
}

function locate(env: NodeJS.ProcessEnv, tool: keyof typeof PACKAGED): string | null {
  const variable = `STYLEGRAPH_${tool.toUpperCase()}`;
  const configured = env[variable];
  if (configured === 'off') return null;
  if (configured) {
    if (!executable(configured)) throw new ConfigError(variable, `"${configured}" is not an executable file (set it to off to refuse videos)`);
    return path.resolve(configured);
  }
  return [packaged(tool), ...onPath(env, tool)].find((candidate) => candidate !== null && executable(candidate)) ?? null;
}

function packaged(tool: keyof typeof PACKAGED): string | null {
  try {
    // The package throws where no build of its own is installed for this platform.
    return (require(PACKAGED[tool]) as { path: string }).path;
  } catch {
    return null;
  }
}

function onPath(env: NodeJS.ProcessEnv, tool: string): string[] {
  return (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, tool));
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What a tool wrote: stdout whole (capped), and stderr, which at `-v error` holds only errors. */
export interface ToolOutput {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

export interface ToolRun {
  /** Bytes written to its stdin, then closed. */
  input?: Uint8Array;
  /** Called with each piece of stdout instead of keeping it (the count of bytes is kept). */
  onStdout?: (chunk: Buffer) => void;
  /** More stdout than this kills the tool (maxStdoutExceeded is set): a file that decodes to more than it declared. */
  maxStdoutBytes: number;
  timeoutMs: number;
}

/** A tool killed for running past its time. */
export class ToolTimeout extends Error {
  constructor(readonly tool: string, readonly timeoutMs: number) {
    super(`${tool} did not finish within ${timeoutMs / 1000} s`);
    this.name = 'ToolTimeout';
  }
}

/** Runs `binary` with `args` and no shell; resolves once it exits, whatever its exit code (rejects with ToolTimeout past `timeoutMs`). */
export function runTool(binary: string, args: string[], run: ToolRun): Promise<ToolOutput & { stdoutBytes: number; maxStdoutExceeded: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: run.timeoutMs, killSignal: 'SIGKILL' });
    const kept: Buffer[] = [];
    let stdoutBytes = 0;
    let maxStdoutExceeded = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > run.maxStdoutBytes) {
        maxStdoutExceeded = true;
        child.kill('SIGKILL');
      } else if (run.onStdout) {
        run.onStdout(chunk);
      } else {
        kept.push(chunk);
      }
    });
    // Only the start: a broken file can make ffmpeg repeat an error for every packet.
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    // A tool that exits before reading all its input is no error of ours: its exit code and stderr tell.
    child.stdin.on('error', () => {});
    child.stdin.end(run.input);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && !maxStdoutExceeded) {
        reject(new ToolTimeout(path.basename(binary), run.timeoutMs));
        return;
      }
      resolve({ stdout: Buffer.concat(kept), stderr: stderr.trim(), code, stdoutBytes, maxStdoutExceeded });
    });
  });
}
