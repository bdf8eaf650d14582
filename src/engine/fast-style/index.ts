/**
 * Fast feed-forward style transfer: one trained network per style, one pass
 * per image. `loadFastStyleNetwork(dir)` then `network.stylize(image)`.
 */
export { locateFastStyleModels, listFastStylePresets, type FastStylePreset } from './locate';
export { createFastStyleNetwork, loadFastStyleNetwork, type FastStyleNetwork } from './network';
export { readFastStyleWeights, type FastStyleWeights, type LayerWeights } from './variables';
