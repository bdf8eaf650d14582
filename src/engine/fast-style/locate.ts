/** Where the fast-style networks are, and which ones are there. */
import { readdir, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cacheDir, WeightsNotFoundError } from '../weights';
import { MANIFEST_FILENAME } from './variables';

/** The painting a network was trained on, kept next to its variables. */
const STYLE_IMAGE_FILENAME = 'style.jpg';

const HOW_TO_CONFIGURE = 'Set STYLEGRAPH_FAST_STYLE_MODELS to a folder with one sub-folder per network '
  + `(each holding ${MANIFEST_FILENAME} and one raw float32 file per variable), or put those sub-folders in `;

export interface FastStylePreset {
  /** The sub-folder's name, e.g. "la_muse". */
  name: string;
  /** The network's folder, for loadFastStyleNetwork(). */
  dir: string;
  /** Where the painting it was trained on is kept (style.jpg; a user's own network may lack it). */
  stylePath: string;
}

/**
 * STYLEGRAPH_FAST_STYLE_MODELS when set, else <cache dir>/fast-style (the
 * cache directory of the VGG19 weights). The folder must exist.
 */
export function locateFastStyleModels(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.STYLEGRAPH_FAST_STYLE_MODELS;
  const cached = join(cacheDir(env), 'fast-style');
  const folder = configured ? resolve(configured) : cached;
  if (statSync(folder, { throwIfNoEntry: false })?.isDirectory()) return folder;
  const where = configured
    ? `STYLEGRAPH_FAST_STYLE_MODELS is ${folder}, which is not a directory`
    : `STYLEGRAPH_FAST_STYLE_MODELS is not set and ${cached} does not exist`;
  throw new WeightsNotFoundError(`fast-style networks not found: ${where}. ${HOW_TO_CONFIGURE}${cached}.`);
}

/** The sub-folders of `folder` that hold a network (a manifest.json), by name. */
export async function listFastStylePresets(folder: string): Promise<FastStylePreset[]> {
  const presets: FastStylePreset[] = [];
  // stat, not the directory entry's type: a network may be a symbolic link to a folder elsewhere.
  for (const name of await readdir(folder)) {
    const dir = join(folder, name);
    const manifest = await stat(join(dir, MANIFEST_FILENAME)).catch(() => undefined);
    if (manifest?.isFile()) presets.push({ name, dir, stylePath: join(dir, STYLE_IMAGE_FILENAME) });
  }
  return presets.sort((a, b) => a.name.localeCompare(b.name));
}
