/** Made-up VGG19 conv weights, tiny and with distinct values, for the weights readers' tests. */
import { VGG19_CONV_LAYERS } from '../../src/engine/params';

export interface ConvLayerFixture {
  name: string;
  kernelShape: [number, number, number, number];
  kernel: Float32Array;
  bias: Float32Array;
}

/** The real network's channels per block, for comparison with the tiny default. */
export const REAL_VGG19_BLOCK_CHANNELS = [64, 128, 256, 512, 512];

/**
 * All 16 conv layers (or the first `count`), block b having `blockChannels[b]`
 * output channels, each input matching the previous output as in VGG19.
 * Every value differs from every other, so a swapped kernel and bias, a wrong
 * offset or a wrong layer shows up as a mismatch.
 */
export function vgg19ConvFixture(count: number = VGG19_CONV_LAYERS.length, blockChannels = [2, 3, 4, 2, 3]): ConvLayerFixture[] {
  let inChannels = 3;
  let next = 0;
  const values = (length: number) => Float32Array.from({ length }, () => Math.fround(Math.sin(++next) * 2));
  return VGG19_CONV_LAYERS.slice(0, count).map((name) => {
    const outChannels = blockChannels[Number(name[5]) - 1];
    const kernelShape: ConvLayerFixture['kernelShape'] = [3, 3, inChannels, outChannels];
    inChannels = outChannels;
    return { name, kernelShape, kernel: values(9 * kernelShape[2] * outChannels), bias: values(outChannels) };
  });
}
