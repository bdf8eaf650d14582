/** Writes a TensorFlow.js layers model (model.json and shards) holding given weights. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type StoredWeight = { name: string; shape: number[] } & (
  | { values: Float32Array }
  | { quantization: 'uint8' | 'uint16'; quantized: Uint8Array | Uint16Array; scale: number; min: number }
);

/**
 * Weights are stored one after the other in a single group, cut into shards of
 * `shardBytes` (small values cut tensors, even single floats, across files).
 */
export async function writeLayersModelFixture(dir: string, weights: StoredWeight[], shardBytes = 1 << 20): Promise<void> {
  const bytes = Buffer.concat(weights.map(storedBytes));
  const shardCount = Math.max(1, Math.ceil(bytes.length / shardBytes));
  const paths = Array.from({ length: shardCount }, (_, i) => `group1-shard${i + 1}of${shardCount}.bin`);
  await mkdir(dir, { recursive: true });
  await Promise.all(paths.map((file, i) => writeFile(path.join(dir, file), bytes.subarray(i * shardBytes, (i + 1) * shardBytes))));
  const specs = weights.map((weight) => ({
    name: weight.name,
    shape: weight.shape,
    dtype: 'float32',
    ...('quantization' in weight
      ? { quantization: { dtype: weight.quantization, scale: weight.scale, min: weight.min, original_dtype: 'float32' } }
      : {}),
  }));
  const model = { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths, weights: specs }] };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(model));
}

function storedBytes(weight: StoredWeight): Buffer {
  const array = 'quantization' in weight ? weight.quantized : weight.values;
  const bytes = Buffer.alloc(array.byteLength);
  const view = new DataView(bytes.buffer);
  array.forEach((value, i) => {
    if (array instanceof Float32Array) view.setFloat32(i * 4, value, true);
    else if (array instanceof Uint16Array) view.setUint16(i * 2, value, true);
    else view.setUint8(i, value);
  });
  return bytes;
}
