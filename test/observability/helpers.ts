import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { TestDatabase } from '../helpers/databases.js';

/** Samples of a Prometheus text exposition: `name{a="x",b="y"}` (labels sorted) -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = match[2] ? [...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort() : [];
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

/** One sample's value (0 when absent: a labelled series appears on its first observation). */
export function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const key = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')}}`;
  return samples.get(key) ?? 0;
}

/** Whether any series of `name` exists. */
export function hasMetric(samples: Map<string, number>, name: string): boolean {
  return [...samples.keys()].some((key) => key.startsWith(`${name}{`));
}

/** A logger writing JSON lines into `lines`, parsed. */
export function capturingLogger(level = 'debug'): { logger: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: createLogger({ level, format: 'json', destination }), lines };
}

/** A service configuration on a test database: the defaults, a short queue poll. */
export function testConfig(database: TestDatabase): Config {
  return { ...loadConfig({}), database: database.config, queuePollingSeconds: 1 };
}
