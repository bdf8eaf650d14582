/**
 * The fast modes' use of a feed-forward network (fast-style/): mode 'fast' is
 * one pass over the content at maxDim, its result judged by the same Gatys
 * objective the optimisation minimises; mode 'fast-then-optimize' starts the
 * optimisation from that pass (stylize's `initImage`).
 */
import * as tf from '@tensorflow/tfjs';
import type { FastStyleNetwork } from './fast-style';
import type { TransferParams } from './params';
import { fitToMaxDim, rgbToTensor, tensorToRgb, withColorsOf } from './pixels';
import { disposeTargets, readLayerLosses, readLosses, StyleObjective } from './transfer';
import type { LayerLosses, Losses, RgbImage } from './types';
import type { Vgg19 } from './vgg19';

export interface FastTransferInput {
  content: RgbImage;
  /** The network's painting (usually one), to measure the result's style loss against; may be empty. */
  styles: RgbImage[];
  params: TransferParams;
}

export interface FastTransferResult {
  /** The content fitted to maxDim (as the optimisation fits it), in the network's style. */
  image: RgbImage;
  /**
   * The result's losses under the run's objective (its weights and layers),
   * against the content and `styles`, as an optimisation's epoch reports
   * them. All zero when there is no style image to compare with.
   */
  losses: Losses;
  layers: LayerLosses;
  /** The pass and the losses. */
  elapsedMs: number;
}

/** The network's output for `image` fitted to maxDim; the caller disposes it. */
function stylizeFitted(network: FastStyleNetwork, content: RgbImage, maxDim: number): { fitted: tf.Tensor4D; styled: tf.Tensor4D } {
  const fitted = tf.tidy(() => fitToMaxDim(rgbToTensor(content), maxDim));
  try {
    return { fitted, styled: network.stylizeTensor(fitted) };
  } catch (err) {
    fitted.dispose();
    throw err;
  }
}

/** The content fitted to maxDim through the network: the starting image of mode 'fast-then-optimize'. */
export function fastStylizeContent(network: FastStyleNetwork, content: RgbImage, maxDim: number): RgbImage {
  const { fitted, styled } = stylizeFitted(network, content, maxDim);
  const image = tensorToRgb(styled);
  tf.dispose([fitted, styled]);
  return image;
}

/** Mode 'fast': one pass, and the losses of its result. With preserveColors the result keeps the content's colors. */
export function fastTransfer(vgg: Vgg19, network: FastStyleNetwork, input: FastTransferInput): FastTransferResult {
  const { params } = input;
  const started = performance.now();
  const { fitted, styled } = stylizeFitted(network, input.content, params.maxDim);
  try {
    let losses: Losses = { total: 0, content: 0, style: 0, totalVariation: 0, temporal: 0 };
    let layers: LayerLosses = { content: {}, style: {} };
    if (input.styles.length > 0) {
      const objective = new StyleObjective(vgg, params);
      const targets = objective.targets(input.content, input.styles, params.maxDim);
      try {
        tf.tidy(() => {
          const terms = objective.losses(styled, targets);
          losses = readLosses(terms);
          layers = readLayerLosses(terms);
        });
      } finally {
        disposeTargets(targets);
      }
    }
    let image: RgbImage;
    if (params.preserveColors) {
      const recolored = withColorsOf(styled, fitted);
      image = tensorToRgb(recolored);
      recolored.dispose();
    } else {
      image = tensorToRgb(styled);
    }
    return { image, losses, layers, elapsedMs: performance.now() - started };
  } finally {
    tf.dispose([fitted, styled]);
  }
}
