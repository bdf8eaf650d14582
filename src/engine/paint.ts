/**
 * The engine's one entry point for a run, whatever its mode: the same stream
 * of events (steps, then each epoch with its image) whether the image comes
 * from the optimisation ('optimize', Gatys et al.), from one pass of a
 * trained network ('fast', Johnson et al.), or from the optimisation started
 * at that pass ('fast-then-optimize'). Callers (the worker's engine thread,
 * the command line) only carry the events on.
 */
import type { FastStyleNetwork } from './fast-style';
import { fastStylizeContent, fastTransfer } from './fast-transfer';
import { isFastMode } from './params';
import { stylize, type StylizeInput } from './transfer';
import type { TransferEvent } from './types';
import type { Vgg19 } from './vgg19';

export interface PaintInput extends Omit<StylizeInput, 'initImage'> {
  /** The network of a preset (params.preset), asked for only in the fast modes and only when it is used. */
  network?: (preset: string) => Promise<FastStyleNetwork>;
}

export async function* paint(vgg: Vgg19, input: PaintInput): AsyncGenerator<TransferEvent> {
  const { params, resume, signal } = input;
  if (!isFastMode(params.mode)) {
    yield* stylize(vgg, input);
    return;
  }
  const network = () => {
    if (!input.network) throw new Error(`mode ${params.mode} needs the fast-style network of preset "${params.preset}"`);
    return input.network(params.preset!);
  };
  if (params.mode === 'fast') {
    // One pass, one epoch, no checkpoint: a FAST run is never resumed (its one epoch is its result).
    if (resume || signal?.aborted) return;
    const result = fastTransfer(vgg, await network(), input);
    yield { kind: 'epoch', epoch: 1, epochs: 1, step: 0, totalSteps: 0, etaMs: 0, ...result, checkpoint: null };
    return;
  }
  // Resumed, the optimisation continues from its checkpoint and the network is not needed.
  const started = performance.now();
  const initImage = resume ? undefined : fastStylizeContent(await network(), input.content, params.maxDim);
  const fastMs = performance.now() - started;
  for await (const event of stylize(vgg, { ...input, initImage })) {
    yield { ...event, elapsedMs: fastMs + event.elapsedMs };
  }
}
