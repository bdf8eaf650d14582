/**
 * Writes HDF5 files in the layout of Keras's VGG19 weights file, with h5wasm,
 * so the reader can be tested without the 80 MB original.
 */
import type { ConvLayerFixture } from './conv-layer-fixtures';

/**
 * 'keras1': as in the published vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
 * (h5py fixed-length byte strings, datasets `block1_conv1_W_1:0` in the layer group).
 * 'keras2': as later Keras writes (variable-length UTF-8 strings, datasets
 * `block1_conv1/kernel:0`, i.e. in a subgroup named after the layer).
 */
export type KerasH5Style = 'keras1' | 'keras2';

export async function writeKerasH5Fixture(file: string, layers: ConvLayerFixture[], style: KerasH5Style = 'keras1'): Promise<void> {
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  const h5file = new h5wasm.File(file, 'w');
  try {
    const layerNames: string[] = [];
    layers.forEach((layer, index) => {
      layerNames.push(layer.name);
      writeLayer(h5file, layer, style);
      // Pooling layers are listed too, with no weights, after each block's last conv.
      const block = layer.name.slice(0, 6);
      if (layers[index + 1]?.name.slice(0, 6) !== block) {
        layerNames.push(`${block}_pool`);
        h5file.create_group(`${block}_pool`).create_attribute('weight_names', new Float64Array(0), [0]);
      }
    });
    writeNames(h5file, 'layer_names', layerNames, style);
  } finally {
    h5file.close();
  }
}

type H5Group = InstanceType<Awaited<typeof import('h5wasm/node')>['default']['Group']>;

function writeLayer(h5file: H5Group, layer: ConvLayerFixture, style: KerasH5Style): void {
  const group = h5file.create_group(layer.name);
  const [datasets, kernel, bias] = style === 'keras1'
    ? [group, `${layer.name}_W_1:0`, `${layer.name}_b_1:0`]
    : [group.create_group(layer.name), 'kernel:0', 'bias:0'];
  datasets.create_dataset({ name: kernel, data: layer.kernel, shape: layer.kernelShape, dtype: '<f' });
  datasets.create_dataset({ name: bias, data: layer.bias, shape: [layer.bias.length], dtype: '<f' });
  // weight_names are relative to the layer's group.
  const prefix = style === 'keras1' ? '' : `${layer.name}/`;
  writeNames(group, 'weight_names', [prefix + kernel, prefix + bias], style);
}

function writeNames(target: H5Group, attribute: string, names: string[], style: KerasH5Style): void {
  if (style === 'keras1') {
    // numpy's 'S' arrays: fixed length, NUL-padded.
    const length = Math.max(...names.map((name) => name.length));
    target.create_attribute(attribute, names, [names.length], `A${length}`);
  } else {
    target.create_attribute(attribute, names, [names.length]);
  }
}
