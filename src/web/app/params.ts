/** How a run's parameters read on the page: one table for the run view and the comparison. */
import { UNUSED_IN_MODE, type RunParams } from './api';
import { formatNumber, MODE_LABELS } from './dom';

export interface ParamRow {
  /** The parameter shown (its StartRunInput name). */
  param: keyof RunParams;
  label: string;
  show(params: RunParams): string;
  /** Listed for one run only when this holds (its default says nothing); a comparison lists every row. */
  notable?(params: RunParams): boolean;
}

export const PARAM_ROWS: ParamRow[] = [
  { param: 'mode', label: 'Method', show: (p) => MODE_LABELS[p.mode] ?? p.mode },
  { param: 'preset', label: 'Preset', show: (p) => p.preset ?? '–', notable: (p) => p.preset !== null },
  { param: 'maxDim', label: 'Size', show: (p) => `${p.maxDim} px` },
  { param: 'epochs', label: 'Epochs', show: (p) => String(p.epochs) },
  { param: 'stepsPerEpoch', label: 'Steps per epoch', show: (p) => String(p.stepsPerEpoch) },
  { param: 'contentWeight', label: 'Content weight', show: (p) => formatNumber(p.contentWeight) },
  { param: 'styleWeight', label: 'Style weight', show: (p) => formatNumber(p.styleWeight) },
  { param: 'totalVariationWeight', label: 'TV weight', show: (p) => formatNumber(p.totalVariationWeight) },
  { param: 'optimizer', label: 'Optimizer', show: (p) => (p.optimizer === 'LBFGS' ? 'L-BFGS' : 'Adam') },
  { param: 'learningRate', label: 'Learning rate', show: (p) => formatNumber(p.learningRate) },
  { param: 'seed', label: 'Seed', show: (p) => String(p.seed) },
  { param: 'init', label: 'Start from', show: (p) => p.init.toLowerCase() },
  { param: 'preserveColors', label: 'Keep colors', show: (p) => (p.preserveColors ? 'yes' : 'no') },
  { param: 'multiscale', label: 'Scales', show: (p) => String(p.multiscale), notable: (p) => p.multiscale > 1 },
  { param: 'styleBlend', label: 'Style blend', show: (p) => p.styleBlend?.join(', ') ?? 'equal', notable: (p) => p.styleBlend !== null },
];

/** What a row shows for a run; undefined where the run's mode has no use for the parameter. */
export function paramText(row: ParamRow, params: RunParams): string | undefined {
  return UNUSED_IN_MODE[params.mode].has(row.param) ? undefined : row.show(params);
}
