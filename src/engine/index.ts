/**
 * The style-transfer engine: tensors only, nothing of storage, queues or
 * GraphQL. `loadVgg19()` then `stylize(vgg, input)`.
 */
export { initBackend, WasmMemoryError, type BackendInfo, type BackendOptions } from './backend';
export {
  checkMemoryFits, engineMemoryBytes, largestFittingMaxDim, largestSquareSize, runMemory, WASM_HEAP_LIMIT_BYTES, type MemoryDemand, type MemoryEstimate,
} from './memory';
export { listFastStylePresets, loadFastStyleNetwork, locateFastStyleModels, type FastStyleNetwork, type FastStylePreset } from './fast-style';
export { fastStylizeContent, fastTransfer, type FastTransferInput, type FastTransferResult } from './fast-transfer';
export { decodeImage, encodePng, probeImage, ImageError } from './image';
export {
  DEFAULT_LEARNING_RATE, DEFAULT_PARAMS, isFastMode, OPTIMIZERS, ParamError, presetStyles, resolveParams, RUN_MODES, VGG19_CONV_LAYERS,
  type InitMode, type LayerWeight, type OptimizerName, type PartialParams, type Pooling, type RunMode, type TransferParams,
} from './params';
export { optimizerStateArrays } from './optimizers';
export { estimateRunTime, measureEngineSpeed, stepMsAt, type EngineSpeed, type LinearCost, type RunTimeEstimate } from './speed';
export { paint, type PaintInput } from './paint';
export { flicker, type PreviousFrame } from './temporal';
export { checkImagesFit, scaleSchedule, stylize, type ImageFields, type ImageSize, type StylizeInput } from './transfer';
export type * from './types';
export { createVgg19, loadVgg19, type Vgg19 } from './vgg19';
export { locateVgg19, WeightsNotFoundError, type Vgg19Source } from './weights';
