/**
 * Reads VGG19 conv weights from Keras's HDF5 weights file,
 * vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, through h5wasm.
 *
 * Layout (as written by Keras's save_weights): the root attribute
 * `layer_names` lists every layer, conv and pooling alike; each layer is a
 * group whose attribute `weight_names` lists its datasets, kernel first, then
 * bias, as paths relative to the group (`block1_conv1_W_1:0`,
 * `block1_conv1_b_1:0` in the official file; `block1_conv1/kernel:0` in files
 * written by later Keras). Kernels are float32 [3, 3, in, out]. h5py writes
 * the names as fixed-length byte strings; newer writers use variable-length
 * UTF-8 strings; both are accepted.
 */
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VGG19_CONV_LAYERS } from '../params';
import { assembleVgg19Weights, WeightsFormatError, type RawTensor, type Vgg19Weights } from './vgg19-layout';

// h5wasm ships as an ES module only (with top-level await), so a CommonJS
// build can only reach it through import().
const importH5wasm = () => import('h5wasm/node');
type H5wasm = Awaited<ReturnType<typeof importH5wasm>>['default'];
type H5Group = InstanceType<H5wasm['Group']>;

let h5wasmReady: Promise<H5wasm> | undefined;

function loadH5wasm(): Promise<H5wasm> {
  h5wasmReady ??= importH5wasm().then(async ({ default: h5wasm }) => {
    await h5wasm.ready;
    return h5wasm;
  });
  return h5wasmReady;
}

/** Returns `layers` (default: all 16) from the Keras HDF5 weights file `file`. */
export async function readKerasH5Weights(
  file: string,
  layers: readonly string[] = VGG19_CONV_LAYERS,
): Promise<Vgg19Weights> {
  const path = resolve(file);
  // Checked here because h5wasm only reports a failed open on stderr and
  // hands back an invalid handle.
  await checkIsHdf5(path);
  const h5wasm = await loadH5wasm();
  const h5file = new h5wasm.File(path, 'r');
  if (h5file.file_id < 0n) {
    throw new WeightsFormatError(path, 'HDF5 library could not open the file');
  }
  try {
    const root = weightsRoot(h5wasm, h5file, path);
    const layerNames = stringList(path, 'root attribute layer_names', root.attrs['layer_names']?.value);
    return assembleVgg19Weights(path, layers, (layer) => {
      if (!layerNames.includes(layer)) {
        throw new WeightsFormatError(path, `layer ${layer} is not in layer_names (${layerNames.join(', ')})`);
      }
      const group = root.get(layer);
      if (!(group instanceof h5wasm.Group)) {
        throw new WeightsFormatError(path, `layer ${layer} is listed in layer_names but has no group`);
      }
      const weightNames = stringList(path, `${layer} attribute weight_names`, group.attrs['weight_names']?.value);
      if (weightNames.length !== 2) {
        throw new WeightsFormatError(
          path,
          `layer ${layer} lists ${weightNames.length} weights (${weightNames.join(', ')}); expected a kernel and a bias`,
        );
      }
      return {
        kernel: readDataset(h5wasm, path, group, weightNames[0]),
        bias: readDataset(h5wasm, path, group, weightNames[1]),
      };
    });
  } finally {
    h5file.close();
  }
}

/** A whole saved model (model.save) keeps the same layout under `model_weights`. */
function weightsRoot(h5wasm: H5wasm, h5file: H5Group, path: string): H5Group {
  if ('layer_names' in h5file.attrs) return h5file;
  const modelWeights = h5file.get('model_weights');
  if (modelWeights instanceof h5wasm.Group && 'layer_names' in modelWeights.attrs) return modelWeights;
  throw new WeightsFormatError(path, 'no root attribute layer_names: not a Keras weights file');
}

function readDataset(h5wasm: H5wasm, path: string, group: H5Group, name: string): RawTensor {
  const dataset = group.get(name);
  if (!(dataset instanceof h5wasm.Dataset)) {
    throw new WeightsFormatError(path, `dataset ${group.path}/${name}, listed in weight_names, does not exist`);
  }
  const { value } = dataset;
  const values = value instanceof Float32Array ? value
    : value instanceof Float64Array ? Float32Array.from(value)
      : null;
  if (!values) {
    throw new WeightsFormatError(path, `dataset ${group.path}/${name} holds ${dataset.dtype}; expected floating point`);
  }
  return { shape: dataset.shape ?? [], values };
}

/** Attribute values as names, whether h5wasm hands them over as strings or as raw bytes. */
function stringList(path: string, what: string, value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    const text = typeof item === 'string' ? item
      : item instanceof Uint8Array ? new TextDecoder().decode(item)
        : null;
    if (text === null) {
      throw new WeightsFormatError(path, `${what} is missing or is not a list of names`);
    }
    // Fixed-length HDF5 strings come padded with NULs or spaces.
    return text.replace(/[\0 ]+$/, '');
  });
}

const HDF5_SIGNATURE = Buffer.from('\x89HDF\r\n\x1a\n', 'latin1');

/** HDF5's signature sits at byte 0, or at 512, 1024, 2048... when the file starts with a user block. */
async function checkIsHdf5(path: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new WeightsFormatError(path, `cannot read the Keras weights file: ${(error as Error).message}`);
  }
  const handle = await open(path, 'r');
  try {
    const probe = Buffer.alloc(HDF5_SIGNATURE.length);
    for (let offset = 0; offset + probe.length <= size; offset = Math.max(512, offset * 2)) {
      await handle.read(probe, 0, probe.length, offset);
      if (probe.equals(HDF5_SIGNATURE)) return;
    }
  } finally {
    await handle.close();
  }
  throw new WeightsFormatError(path, 'not an HDF5 file (no HDF5 signature); expected the Keras .h5 weights');
}
