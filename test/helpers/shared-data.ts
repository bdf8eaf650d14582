/**
 * Where the tests find real weights and images: the same configuration a
 * user gives (STYLEGRAPH_VGG19), falling back to the checkout's sibling
 * ../shared folder that development and CI machines have. Nothing is copied
 * into the repository.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage, loadVgg19, type RgbImage, type Vgg19 } from '../../src/engine';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
const SHARED = path.resolve(REPO_ROOT, '../shared');

export const VGG19_PATH = process.env.STYLEGRAPH_VGG19 ?? path.join(SHARED, 'models/vgg19-imagenet-notop-uint8');
export const IMAGES_DIR = process.env.STYLEGRAPH_TEST_IMAGES ?? path.join(SHARED, 'images');
/** The fast-style networks, one sub-folder each; the engine's own setting, then ../shared. */
export const FAST_STYLE_MODELS = process.env.STYLEGRAPH_FAST_STYLE_MODELS ?? path.join(SHARED, 'models/fast-style');

if (!existsSync(VGG19_PATH)) {
  throw new Error(`tests need the VGG19 weights: set STYLEGRAPH_VGG19 (looked at ${VGG19_PATH})`);
}

export function sharedImagePath(name: string): string {
  return path.join(IMAGES_DIR, name);
}

/** A shared image decoded by the engine, or first shrunk (by sharp) so its longer side is `size`. */
export async function readSharedImage(name: string, size?: number): Promise<RgbImage> {
  const bytes = await readFile(sharedImagePath(name));
  if (size === undefined) return decodeImage(bytes);
  const { data, info } = await sharp(bytes).resize(size, size, { fit: 'inside' }).removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

let vgg: Promise<Vgg19> | undefined;

/** One VGG19 per test process; its tensors live as long as the process. */
export function sharedVgg19(): Promise<Vgg19> {
  vgg ??= loadVgg19({ kind: 'layers-model', path: VGG19_PATH });
  return vgg;
}
