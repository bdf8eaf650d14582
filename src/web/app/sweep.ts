/**
 * A sweep: clones of one run that differ in one parameter, one clone per
 * value, started together. The comparison (compare.ts) then shows them as a
 * grid, each column headed by its value, like the X/Y plot of image-generation UIs.
 */
import { ApiError, estimateRun, startRun, UNUSED_IN_MODE, type Run, type StartRunInput } from './api';
import { h, uid } from './dom';

export type SweptParam = 'styleWeight' | 'contentWeight' | 'totalVariationWeight' | 'maxDim' | 'stepsPerEpoch' | 'epochs' | 'seed' | 'learningRate';

export const SWEPT_PARAMS: readonly { name: SweptParam; label: string; integer: boolean; example: string }[] = [
  { name: 'styleWeight', label: 'Style weight', integer: false, example: '0.001, 0.01, 0.1' },
  { name: 'contentWeight', label: 'Content weight', integer: false, example: '1000, 10000, 100000' },
  { name: 'totalVariationWeight', label: 'TV weight', integer: false, example: '0, 30, 300' },
  { name: 'maxDim', label: 'Size (px)', integer: true, example: '128, 256, 512' },
  { name: 'stepsPerEpoch', label: 'Steps per epoch', integer: true, example: '5, 10, 20' },
  { name: 'epochs', label: 'Epochs', integer: true, example: '2, 4, 8' },
  { name: 'seed', label: 'Seed', integer: true, example: '0, 1, 2' },
  { name: 'learningRate', label: 'Learning rate', integer: false, example: '0.5, 1, 2' },
];

export function isSweptParam(name: string): name is SweptParam {
  return SWEPT_PARAMS.some((param) => param.name === name);
}

/** Each value is a run, and the server lets an owner have only so many unfinished at once. */
const MAX_VALUES = 10;

/** A decimal number as people type it: no hex, no "Infinity", no empty string read as 0. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The values typed, or what is wrong with them. */
function parseValues(text: string, integer: boolean): { values: number[] } | { error: string } {
  const parts = text.split(',').map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) return { error: 'Enter one or more values, separated by commas.' };
  if (parts.length > MAX_VALUES) return { error: `At most ${MAX_VALUES} values in one sweep.` };
  const values: number[] = [];
  for (const part of parts) {
    if (!NUMBER.test(part)) return { error: `“${part}” is not a number.` };
    const value = Number(part);
    if (integer && !Number.isInteger(value)) return { error: `“${part}”: this parameter takes whole numbers.` };
    if (values.includes(value)) return { error: `“${part}” is given twice.` };
    values.push(value);
  }
  return { values };
}

export interface SweepActions {
  /** The clones were started: show them beside `base`. */
  started(param: SweptParam, base: Run, runs: Run[]): void;
}

export class SweepForm {
  readonly element: HTMLFormElement;
  private runs: Run[] = [];
  /**
   * Part of each clone's idempotency key: Start again after a failure finds
   * the clones already started instead of starting them twice. A new one
   * after each sweep that started.
   */
  private attempt = Date.now().toString(36);
  private readonly baseSelect: HTMLSelectElement;
  private readonly paramSelect: HTMLSelectElement;
  private readonly valuesInput: HTMLInputElement;
  private readonly valuesHint: HTMLSpanElement;
  private readonly baseError: HTMLParagraphElement;
  private readonly valuesError: HTMLParagraphElement;
  private readonly formError: HTMLParagraphElement;
  private readonly submitButton: HTMLButtonElement;

  constructor(private readonly actions: SweepActions) {
    const baseId = uid('sweep-base');
    const paramId = uid('sweep-param');
    const valuesId = uid('sweep-values');
    this.baseSelect = h('select', { id: baseId, name: 'sweepBase', 'aria-describedby': `${baseId}-error` });
    this.paramSelect = h('select', { id: paramId, name: 'sweepParam' },
      ...SWEPT_PARAMS.map((param) => h('option', { value: param.name }, `${param.label} (${param.name})`)));
    this.valuesInput = h('input', {
      id: valuesId, name: 'sweepValues', type: 'text', inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', required: true,
      'aria-describedby': `${valuesId}-hint ${valuesId}-error`,
    });
    this.valuesHint = h('span', { class: 'field-hint', id: `${valuesId}-hint` });
    this.baseError = h('p', { class: 'field-error', id: `${baseId}-error`, 'aria-live': 'polite' });
    this.valuesError = h('p', { class: 'field-error', id: `${valuesId}-error`, 'aria-live': 'polite' });
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.submitButton = h('button', { type: 'submit', class: 'button button-primary' }, 'Start sweep');
    const titleId = uid('sweep-title');
    this.element = h('form', { class: 'sweep-form', 'aria-labelledby': titleId, novalidate: true },
      h('h3', { class: 'subhead', id: titleId }, 'Sweep a parameter'),
      h('p', { class: 'sweep-intro' }, 'Starts one clone of the run per value, changing only this parameter, and shows them side by side.'),
      h('div', { class: 'sweep-fields' },
        h('div', { class: 'field' }, h('label', { for: baseId }, 'From run'), this.baseSelect, this.baseError),
        h('div', { class: 'field' }, h('label', { for: paramId }, 'Parameter'), this.paramSelect),
        h('div', { class: 'field sweep-values' }, h('label', { for: valuesId }, 'Values'), this.valuesInput, this.valuesHint, this.valuesError)),
      this.formError,
      h('div', { class: 'sweep-actions' }, this.submitButton));
    this.baseSelect.addEventListener('change', () => this.renderParams());
    this.paramSelect.addEventListener('change', () => this.renderHint());
    this.valuesInput.addEventListener('input', () => this.showValuesError(''));
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  /** The runs a sweep may start from; `param` is preselected (the one a shown sweep swept). */
  setRuns(runs: Run[], param: SweptParam | null): void {
    this.runs = runs;
    this.baseSelect.replaceChildren(...runs.map((run) => h('option', { value: run.id }, `Run ${run.id.slice(0, 8)}`)));
    if (param) this.paramSelect.value = param;
    this.element.hidden = runs.length === 0;
    this.showValuesError('');
    this.baseError.textContent = '';
    this.formError.textContent = '';
    this.renderParams();
  }

  /** Offers only the parameters the base run's mode uses: sweeping another would start identical runs. */
  private renderParams(): void {
    const unused = this.base ? UNUSED_IN_MODE[this.base.params.mode] : new Set<string>();
    for (const option of this.paramSelect.options) option.disabled = unused.has(option.value);
    if (this.paramSelect.selectedOptions[0]?.disabled) this.paramSelect.value = [...this.paramSelect.options].find((option) => !option.disabled)?.value ?? '';
    this.renderHint();
  }

  private get param(): (typeof SWEPT_PARAMS)[number] {
    return SWEPT_PARAMS.find((param) => param.name === this.paramSelect.value)!;
  }

  private get base(): Run | undefined {
    return this.runs.find((run) => run.id === this.baseSelect.value);
  }

  private renderHint(): void {
    const base = this.base;
    const current = base ? base.params[this.param.name] : null;
    this.valuesHint.textContent = `Comma-separated, e.g. ${this.param.example}${current === null || current === undefined ? '' : ` · this run: ${current}`}`;
  }

  private showValuesError(message: string): void {
    this.valuesError.textContent = message;
    if (message) this.valuesInput.setAttribute('aria-invalid', 'true');
    else this.valuesInput.removeAttribute('aria-invalid');
  }

  /** An API error where it belongs: at the values (whatever parameter it names, the swept value caused it), else the run, else the form. */
  private showApiError(error: unknown, value: number | undefined): void {
    const message = error instanceof Error ? error.message : String(error);
    const field = error instanceof ApiError ? error.field?.replace(/^input\./, '') : undefined;
    if (field === 'cloneOf') this.baseError.textContent = message;
    else if (field && field !== 'idempotencyKey' && value !== undefined) {
      this.showValuesError(`${this.param.name} = ${value}: ${message}`);
      this.valuesInput.focus();
    } else this.formError.textContent = message;
  }

  private async submit(): Promise<void> {
    const base = this.base;
    const param = this.param;
    this.formError.textContent = '';
    this.baseError.textContent = '';
    const parsed = parseValues(this.valuesInput.value, param.integer);
    if ('error' in parsed) {
      this.showValuesError(parsed.error);
      this.valuesInput.focus();
      return;
    }
    this.showValuesError('');
    if (!base) return;
    const inputs: StartRunInput[] = parsed.values.map((value) => ({
      // Without styleImageIds a clone keeps its run's style images, or (in the fast modes) its network's painting.
      cloneOf: base.id,
      [param.name]: value,
      idempotencyKey: `sweep:${base.id}:${param.name}:${value}:${this.attempt}`,
    }));

    this.submitButton.disabled = true;
    this.submitButton.textContent = 'Checking…';
    try {
      // Every value is checked before any clone starts, so that a refused one leaves no half sweep behind.
      for (const [i, input] of inputs.entries()) {
        const value = parsed.values[i];
        let fits: boolean;
        try {
          fits = (await estimateRun(input)).fits;
        } catch (error) {
          this.showApiError(error, value);
          return;
        }
        if (!fits) {
          this.showValuesError(`${param.name} = ${value}: too large for this server's memory.`);
          this.valuesInput.focus();
          return;
        }
      }
      this.submitButton.textContent = 'Starting…';
      const started: Run[] = [];
      for (const [i, input] of inputs.entries()) {
        try {
          started.push(await startRun(input));
        } catch (error) {
          this.showApiError(error, parsed.values[i]);
          if (started.length > 0) {
            this.formError.textContent = `Started ${started.length} of ${inputs.length} runs, then: ${error instanceof Error ? error.message : String(error)} Start sweep again to start the rest.`;
          }
          return;
        }
      }
      this.attempt = Date.now().toString(36);
      this.actions.started(param.name, base, started);
    } finally {
      this.submitButton.disabled = false;
      this.submitButton.textContent = 'Start sweep';
    }
  }
}
