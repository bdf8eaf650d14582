/** A one-line progress bar redrawn in place on a terminal stream. */
export class ProgressLine {
  private lastLength = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly width = 24) {}

  /** Whether redrawing in place makes sense (a terminal, not a file or pipe). */
  get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  draw(fraction: number, text: string): void {
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * this.width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${text}`;
    this.stream.write(`\r${line}${' '.repeat(Math.max(0, this.lastLength - line.length))}`);
    this.lastLength = line.length;
  }

  /** Leaves the last drawn line in place and moves to the next. */
  done(): void {
    if (this.lastLength > 0) this.stream.write('\n');
    this.lastLength = 0;
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
