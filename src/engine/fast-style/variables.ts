/**
 * Reads a fast-style network folder: `manifest.json` (variable name ->
 * { filename, shape }) and one raw little-endian float32 file per variable,
 * checked against the architecture before anything is read.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { WeightsFormatError, WeightsNotFoundError } from '../weights';
import { FAST_STYLE_LAYERS, FAST_STYLE_VARIABLES, type VariableRole, type VariableSpec } from './architecture';

export const MANIFEST_FILENAME = 'manifest.json';

export interface LayerWeights {
  kernel: Float32Array;
  /** As stored: [h, w, in, out] for convolutions, [h, w, out, in] for transposed ones. */
  kernelShape: [number, number, number, number];
  /** Instance norm's per-channel shift and scale. */
  shift: Float32Array;
  scale: Float32Array;
}

/** Layer name -> weights, for every layer of FAST_STYLE_LAYERS. */
export type FastStyleWeights = Map<string, LayerWeights>;

interface ManifestEntry {
  filename: string;
  shape: number[];
}

export async function readFastStyleWeights(dir: string): Promise<FastStyleWeights> {
  const manifestPath = join(dir, MANIFEST_FILENAME);
  const manifest = await readManifest(dir, manifestPath);
  checkAgainstArchitecture(manifestPath, manifest);

  const read = await Promise.all(FAST_STYLE_VARIABLES.map(async (variable) => ({
    variable,
    values: await readVariable(dir, variable, manifest[variable.name]),
  })));
  const weights: FastStyleWeights = new Map();
  for (const layer of FAST_STYLE_LAYERS) {
    const variableOf = (role: VariableRole) => read.find(({ variable }) => variable.layer === layer && variable.role === role)!;
    const kernel = variableOf('kernel');
    weights.set(layer.name, {
      kernel: kernel.values,
      kernelShape: kernel.variable.shape as LayerWeights['kernelShape'],
      shift: variableOf('shift').values,
      scale: variableOf('scale').values,
    });
  }
  return weights;
}

async function readManifest(dir: string, manifestPath: string): Promise<Record<string, ManifestEntry>> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new WeightsNotFoundError(`fast-style network not found: ${dir} is not a directory`);
  }
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new WeightsFormatError(dir, `no ${MANIFEST_FILENAME}: a fast-style network folder holds ${MANIFEST_FILENAME} `
      + 'and one raw float32 file per variable');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new WeightsFormatError(manifestPath, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new WeightsFormatError(manifestPath, 'expected an object mapping variable names to { filename, shape }');
  }
  for (const [name, entry] of Object.entries(parsed)) {
    if (!isManifestEntry(entry)) {
      throw new WeightsFormatError(manifestPath, `${name}: expected { "filename": string, "shape": number[] }`);
    }
  }
  return parsed as Record<string, ManifestEntry>;
}

function isManifestEntry(entry: unknown): entry is ManifestEntry {
  const { filename, shape } = (entry ?? {}) as Partial<ManifestEntry>;
  return typeof filename === 'string' && Array.isArray(shape) && shape.every((size) => Number.isInteger(size));
}

/** Every variable of the architecture, none other, each with its expected shape. */
function checkAgainstArchitecture(manifestPath: string, manifest: Record<string, ManifestEntry>): void {
  const expected = new Set(FAST_STYLE_VARIABLES.map((variable) => variable.name));
  const missing = [...expected].filter((name) => !(name in manifest));
  const unexpected = Object.keys(manifest).filter((name) => !expected.has(name));
  if (missing.length || unexpected.length) {
    throw new WeightsFormatError(manifestPath, `expected exactly the ${expected.size} variables Variable, Variable_1 .. `
      + `Variable_${expected.size - 1} of the fast-style network`
      + (missing.length ? `; missing: ${missing.join(', ')}` : '')
      + (unexpected.length ? `; unexpected: ${unexpected.join(', ')}` : ''));
  }
  const wrongShapes = FAST_STYLE_VARIABLES
    .filter((variable) => !sameShape(manifest[variable.name].shape, variable.shape))
    .map((variable) => `${describe(variable)} has shape [${manifest[variable.name].shape}], expected [${variable.shape}]`);
  if (wrongShapes.length) {
    throw new WeightsFormatError(manifestPath, `not the fast-style architecture: ${wrongShapes.join('; ')}`);
  }
}

async function readVariable(dir: string, variable: VariableSpec, entry: ManifestEntry): Promise<Float32Array> {
  // File names come from the manifest: keep them inside the network's folder.
  if (basename(entry.filename) !== entry.filename) {
    throw new WeightsFormatError(dir, `${describe(variable)}: file name "${entry.filename}" must not contain a path`);
  }
  const path = join(dir, entry.filename);
  const bytes = await readFile(path).catch(() => {
    throw new WeightsFormatError(path, `${describe(variable)}: file missing or unreadable`);
  });
  const expectedBytes = variable.shape.reduce((product, size) => product * size, 4);
  if (bytes.byteLength !== expectedBytes) {
    throw new WeightsFormatError(path, `${describe(variable)} [${variable.shape}] needs ${expectedBytes} bytes of float32, `
      + `found ${bytes.byteLength}`);
  }
  // Copy into an aligned buffer; the files are little-endian, as every platform Node runs on.
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function describe(variable: VariableSpec): string {
  return `${variable.name} (${variable.layer.name} ${variable.role})`;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((size, index) => size === b[index]);
}
