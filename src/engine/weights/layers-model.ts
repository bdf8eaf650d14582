/**
 * Reads VGG19 conv weights from a TensorFlow.js layers model (model.json plus
 * binary shards) with plain fs: tf.io.fileSystem exists only in tfjs-node.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VGG19_CONV_LAYERS } from '../params';
import {
  assembleVgg19Weights, vgg19LayerList, WeightsFormatError,
  type RawTensor, type Vgg19Weights,
} from './vgg19-layout';

/** One entry of model.json's `weightsManifest[].weights`. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** Bytes per stored element, by dtype (the quantized dtype when quantized), as tfjs stores them. */
const BYTES_PER_ELEMENT: Record<string, number> = {
  float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2,
};

/**
 * Returns `layers` (default: all 16) from the layers model in `dir`, whose
 * tensors are named `blockB_convC/kernel` and `blockB_convC/bias`. Accepts
 * float32 weights and uint8/uint16 affine quantization.
 */
export async function readLayersModelWeights(
  dir: string,
  layers: readonly string[] = VGG19_CONV_LAYERS,
): Promise<Vgg19Weights> {
  const modelJsonPath = join(dir, 'model.json');
  const groups = await readWeightsManifest(modelJsonPath);
  const wanted = new Set(vgg19LayerList(layers).flatMap((layer) => [`${layer}/kernel`, `${layer}/bias`]));
  const tensors = new Map<string, RawTensor>();
  for (const group of groups) {
    // Shards of a group are one byte stream cut into files; skip groups we need nothing from.
    if (!group.weights.some((spec) => wanted.has(spec.name))) continue;
    const data = Buffer.concat(await Promise.all(group.paths.map((shard) => readShard(dir, shard))));
    let offset = 0;
    for (const spec of group.weights) {
      const size = storedByteLength(modelJsonPath, spec);
      if (offset + size > data.length) {
        throw new WeightsFormatError(
          modelJsonPath,
          `shards ${group.paths.join(', ')} end at byte ${data.length}, before weight "${spec.name}" (bytes ${offset}..${offset + size})`,
        );
      }
      if (wanted.has(spec.name)) {
        tensors.set(spec.name, { shape: spec.shape, values: decodeWeight(modelJsonPath, spec, data.subarray(offset, offset + size)) });
      }
      offset += size;
    }
    if (offset !== data.length) {
      throw new WeightsFormatError(
        modelJsonPath,
        `shards ${group.paths.join(', ')} hold ${data.length} bytes but the manifest describes ${offset}`,
      );
    }
  }
  const tensor = (name: string): RawTensor => {
    const found = tensors.get(name);
    if (!found) {
      throw new WeightsFormatError(modelJsonPath, `no weight named "${name}" in weightsManifest`);
    }
    return found;
  };
  return assembleVgg19Weights(modelJsonPath, layers, (layer) => ({
    kernel: tensor(`${layer}/kernel`),
    bias: tensor(`${layer}/bias`),
  }));
}

async function readWeightsManifest(modelJsonPath: string): Promise<WeightsGroup[]> {
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (error) {
    throw new WeightsFormatError(modelJsonPath, `cannot read the layers model: ${(error as Error).message}`);
  }
  let model: unknown;
  try {
    model = JSON.parse(text);
  } catch (error) {
    throw new WeightsFormatError(modelJsonPath, `not valid JSON: ${(error as Error).message}`);
  }
  const manifest = (model as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest) || !manifest.every(isWeightsGroup)) {
    throw new WeightsFormatError(
      modelJsonPath,
      'weightsManifest is missing or malformed (expected [{ paths: string[], weights: [{ name, shape, dtype }] }])',
    );
  }
  return manifest;
}

function isWeightsGroup(value: unknown): value is WeightsGroup {
  const group = value as WeightsGroup;
  return typeof group === 'object' && group !== null
    && Array.isArray(group.paths) && group.paths.every((path) => typeof path === 'string')
    && Array.isArray(group.weights) && group.weights.every((spec) => typeof spec === 'object' && spec !== null
      && typeof spec.name === 'string' && typeof spec.dtype === 'string'
      && Array.isArray(spec.shape) && spec.shape.every((size) => Number.isInteger(size) && size >= 0));
}

async function readShard(dir: string, shard: string): Promise<Buffer> {
  const path = join(dir, shard);
  try {
    return await readFile(path);
  } catch (error) {
    throw new WeightsFormatError(path, `cannot read weight shard listed in model.json: ${(error as Error).message}`);
  }
}

function storedByteLength(modelJsonPath: string, spec: WeightSpec): number {
  const storedDtype = spec.quantization?.dtype ?? spec.dtype;
  const bytesPerElement = BYTES_PER_ELEMENT[storedDtype];
  if (bytesPerElement === undefined) {
    throw new WeightsFormatError(modelJsonPath, `weight "${spec.name}" is stored as ${storedDtype}, which has no fixed size`);
  }
  return spec.shape.reduce((product, size) => product * size, 1) * bytesPerElement;
}

/** Turns the stored bytes of one weight into float32, dequantizing exactly as tfjs's decodeWeights does. */
function decodeWeight(modelJsonPath: string, spec: WeightSpec, bytes: Buffer): Float32Array {
  if (spec.dtype !== 'float32') {
    throw new WeightsFormatError(modelJsonPath, `weight "${spec.name}" has dtype ${spec.dtype}; expected float32`);
  }
  // A DataView reads little-endian whatever the byte offset inside the concatenated shards.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { quantization } = spec;
  if (!quantization) {
    const values = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
    return values;
  }
  const { dtype, scale, min } = quantization;
  if (dtype !== 'uint8' && dtype !== 'uint16') {
    throw new WeightsFormatError(
      modelJsonPath,
      `weight "${spec.name}" uses ${dtype} quantization; only uint8 and uint16 (affine, with scale and min) are supported`,
    );
  }
  if (typeof scale !== 'number' || typeof min !== 'number') {
    throw new WeightsFormatError(modelJsonPath, `weight "${spec.name}" is ${dtype}-quantized but lacks a numeric scale and min`);
  }
  const readQuantized = dtype === 'uint8'
    ? (i: number) => view.getUint8(i)
    : (i: number) => view.getUint16(i * 2, true);
  const values = new Float32Array(bytes.byteLength / BYTES_PER_ELEMENT[dtype]);
  // Computed in double and rounded once to float32 on store, like tfjs.
  for (let i = 0; i < values.length; i++) values[i] = readQuantized(i) * scale + min;
  return values;
}
