/** Decides which VGG19 weights to use, from configuration and the cache. */
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Vgg19Source } from './vgg19-layout';

/** The file name Keras publishes the weights under; `weights fetch` saves it under this name too. */
export const KERAS_VGG19_FILENAME = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';

const HOW_TO_GET_WEIGHTS = 'Run `stylegraph weights fetch` to download the Keras VGG19 weights (about 80 MB) into the cache, '
  + 'or set STYLEGRAPH_VGG19 to a TensorFlow.js layers-model directory (containing model.json) '
  + `or to the Keras file ${KERAS_VGG19_FILENAME}.`;

/** No usable weights; the message says where we looked and how to get them. */
export class WeightsNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsNotFoundError';
  }
}

/**
 * Where downloaded weights live: STYLEGRAPH_CACHE_DIR, else
 * $XDG_CACHE_HOME/stylegraph, else ~/.cache/stylegraph.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STYLEGRAPH_CACHE_DIR) return resolve(env.STYLEGRAPH_CACHE_DIR);
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdgCache = env.XDG_CACHE_HOME;
  if (xdgCache && isAbsolute(xdgCache)) return join(xdgCache, 'stylegraph');
  return join(env.HOME || homedir(), '.cache', 'stylegraph');
}

/**
 * STYLEGRAPH_VGG19 wins when set: a TensorFlow.js layers-model directory (or
 * its model.json), or a Keras .h5 file. Otherwise the Keras file in the cache
 * directory, where `stylegraph weights fetch` puts it.
 */
export function locateVgg19(env: NodeJS.ProcessEnv = process.env): Vgg19Source {
  const configured = env.STYLEGRAPH_VGG19;
  if (configured) return configuredSource(resolve(configured));
  const cached = join(cacheDir(env), KERAS_VGG19_FILENAME);
  if (isFile(cached)) return { kind: 'keras-h5', path: cached };
  throw new WeightsNotFoundError(
    `VGG19 weights not found: STYLEGRAPH_VGG19 is not set and ${cached} does not exist. ${HOW_TO_GET_WEIGHTS}`,
  );
}

function configuredSource(path: string): Vgg19Source {
  if (isDirectory(path)) {
    if (isFile(join(path, 'model.json'))) return { kind: 'layers-model', path };
    throw new WeightsNotFoundError(
      `VGG19 weights not found: STYLEGRAPH_VGG19 is the directory ${path}, which has no model.json. ${HOW_TO_GET_WEIGHTS}`,
    );
  }
  if (isFile(path)) {
    return basename(path) === 'model.json'
      ? { kind: 'layers-model', path: dirname(path) }
      : { kind: 'keras-h5', path };
  }
  throw new WeightsNotFoundError(`VGG19 weights not found: STYLEGRAPH_VGG19 is ${path}, which does not exist. ${HOW_TO_GET_WEIGHTS}`);
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
