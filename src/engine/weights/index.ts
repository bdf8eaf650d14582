/** VGG19 weights: where they are, reading them as plain arrays, downloading them. */
import { VGG19_CONV_LAYERS } from '../params';
import { readKerasH5Weights } from './keras-h5';
import { readLayersModelWeights } from './layers-model';
import { locateVgg19 } from './locate';
import type { Vgg19Source, Vgg19Weights } from './vgg19-layout';

export type { ConvWeights, Vgg19LayerName, Vgg19Source, Vgg19Weights } from './vgg19-layout';
export { WeightsFormatError } from './vgg19-layout';
export { cacheDir, KERAS_VGG19_FILENAME, locateVgg19, WeightsNotFoundError } from './locate';
export { readKerasH5Weights } from './keras-h5';
export { readLayersModelWeights } from './layers-model';
export {
  ChecksumMismatchError, fetchVgg19Weights, KERAS_VGG19_MD5, KERAS_VGG19_SHA256, KERAS_VGG19_URL,
  type FetchVgg19Options, type FetchVgg19Result,
} from './fetch';

/**
 * Loads `layers` (default: all 16 conv layers) from `source` (default: what
 * locateVgg19() finds). Asking only for the layers a transfer uses saves
 * memory: the default style and content layers stop at block5_conv2.
 */
export async function loadVgg19Weights(
  source: Vgg19Source = locateVgg19(),
  layers: readonly string[] = VGG19_CONV_LAYERS,
): Promise<Vgg19Weights> {
  switch (source.kind) {
    case 'layers-model':
      return readLayersModelWeights(source.path, layers);
    case 'keras-h5':
      return readKerasH5Weights(source.path, layers);
  }
}
