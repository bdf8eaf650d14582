import type { RgbImage } from '../src/engine';

/** A deterministic, textured test image: speed does not depend on content. */
export function syntheticImage(size: number, seed = 0): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37 + seed) * 0.5 + 0.5) * 255;
  return { width: size, height: size, data };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

export function peakRssMiB(): number {
  return round(process.resourceUsage().maxRSS / 1024);
}

export type Row = Record<string, string | number>;

/** Prints rows as JSON lines, or as a table with a title line. */
export function report(title: string, rows: Row[], json: boolean): void {
  if (json) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  console.log(`\n${title}`);
  // Rows of other shapes (the peers benchmark's step row and its time-to-loss row) each get a table of their own.
  const shapes = new Map<string, Row[]>();
  for (const row of rows) {
    const key = Object.keys(row).join(',');
    shapes.set(key, [...(shapes.get(key) ?? []), row]);
  }
  for (const group of shapes.values()) {
    const columns = Object.keys(group[0]);
    const widths = columns.map((c) => Math.max(c.length, ...group.map((r) => String(r[c]).length)));
    console.log(columns.map((c, i) => c.padStart(widths[i])).join('  '));
    for (const row of group) console.log(columns.map((c, i) => String(row[c]).padStart(widths[i])).join('  '));
  }
}
