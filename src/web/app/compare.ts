/**
 * Comparing runs side by side: those picked in the gallery
 * (`#/compare/<id>,<id>,...`), or a sweep's clones beside the run they were
 * cloned from (`#/sweep/<param>/<reference>,<id>,...`, each column headed by
 * its value of the swept parameter) — one grid for both. Each column shows
 * its run's latest image, status and final losses, repainting live; the
 * parameters that differ are marked; two runs get a before/after slider.
 */
import { FINISHED, getRun, isVideo, showImage, type Image, type Run, type RunEpoch } from './api';
import { followRun, latestPreview } from './follow-run';
import { apiImage, apiPicture, clear, formatNumber, h, statusBadge, uid } from './dom';
import { PARAM_ROWS, paramText, type ParamRow } from './params';
import { isSweptParam, SweepForm, type SweptParam } from './sweep';

export interface Comparison {
  runIds: string[];
  /** A sweep's parameter: the first run is the reference, and each column is headed by its value. */
  sweptParam: SweptParam | null;
}

/** More columns than this would not show anything side by side any more. */
const MAX_COLUMNS = 12;

/** The comparison a location hash asks for; undefined when it is another route. */
export function comparisonOfHash(hash: string): Comparison | undefined {
  const match = /^#\/(?:compare|sweep\/([A-Za-z]+))\/([0-9A-Za-z,-]+)$/.exec(hash);
  if (!match) return undefined;
  const runIds = [...new Set(match[2].split(',').filter(Boolean))].slice(0, MAX_COLUMNS);
  if (runIds.length === 0) return undefined;
  return { runIds, sweptParam: match[1] && isSweptParam(match[1]) ? match[1] : null };
}

export function comparisonHash({ runIds, sweptParam }: Comparison): string {
  return sweptParam ? `#/sweep/${sweptParam}/${runIds.join(',')}` : `#/compare/${runIds.join(',')}`;
}

const short = (runId: string) => runId.slice(0, 8);

/**
 * The gallery's part: a Compare checkbox and a Sweep… button on each card,
 * and a bar ("2 selected · Compare · Clear") while runs are picked.
 */
export class CompareSelection {
  readonly bar: HTMLElement;
  /** In the order picked: the first is the comparison's first column. */
  private selected: string[] = [];
  /** The checkbox of each run's card as last rendered (the gallery re-renders its cards). */
  private readonly checkboxes = new Map<string, HTMLInputElement>();
  private readonly count = h('p', { class: 'compare-bar-count', role: 'status' });
  private readonly compareButton: HTMLButtonElement;

  constructor(private readonly navigate: (hash: string) => void) {
    this.compareButton = h('button', {
      type: 'button', class: 'button button-primary',
      onclick: () => this.navigate(comparisonHash({ runIds: this.selected, sweptParam: null })),
    }, 'Compare');
    this.bar = h('div', { class: 'compare-bar', role: 'region', 'aria-label': 'Runs to compare', hidden: true },
      this.count,
      this.compareButton,
      h('button', { type: 'button', class: 'button button-quiet', onclick: () => this.clear() }, 'Clear'));
  }

  /** A card's controls: pick the run for comparison, or sweep one of its parameters. */
  cardControls(run: Run): HTMLElement {
    const checkbox = h('input', { type: 'checkbox', name: 'compare', value: run.id, checked: this.selected.includes(run.id), 'data-focus-key': `compare-${run.id}` });
    checkbox.addEventListener('change', () => this.toggle(run.id, checkbox.checked));
    this.checkboxes.set(run.id, checkbox);
    return h('div', { class: 'run-card-compare' },
      h('label', { class: 'compare-check' }, checkbox, 'Compare', h('span', { class: 'visually-hidden' }, ` run ${short(run.id)}`)),
      h('button', {
        type: 'button', class: 'link-button compare-sweep', 'aria-label': `Sweep a parameter of run ${short(run.id)}`, 'data-focus-key': `sweep-${run.id}`,
        onclick: () => this.navigate(comparisonHash({ runIds: [run.id], sweptParam: null })),
      }, 'Sweep…'));
  }

  private toggle(runId: string, checked: boolean): void {
    this.selected = this.selected.filter((id) => id !== runId);
    if (checked) this.selected.push(runId);
    this.renderBar();
  }

  private clear(): void {
    this.selected = [];
    for (const checkbox of this.checkboxes.values()) checkbox.checked = false;
    this.renderBar();
  }

  private renderBar(): void {
    const n = this.selected.length;
    this.bar.hidden = n === 0;
    this.count.textContent = n === 1 ? '1 selected · pick another to compare' : `${n} selected`;
    this.compareButton.hidden = n < 2;
  }
}


const LOSSES = [['Total loss', 'totalLoss'], ['Content loss', 'contentLoss'], ['Style loss', 'styleLoss']] as const;

/** One run's column, and the cells that change while it paints. */
interface Column {
  runId: string;
  run: Run | null;
  epochs: RunEpoch[];
  /** The grid's image and, with two runs, the slider's. */
  images: HTMLImageElement[];
  caption: HTMLElement;
  imageCell: HTMLElement;
  statusCell: HTMLElement;
  lossCells: HTMLElement[];
}

/** What a column shows: the result when done, else the latest preview, else the content image. */
function shownImage(run: Run, epochs: RunEpoch[]): { image: Image; caption: string } {
  // A video result is compared by its last frame: the columns are images, and the slider stacks two.
  if (run.resultImage && !isVideo(run.resultImage)) return { image: run.resultImage, caption: 'Result' };
  const last = latestPreview(epochs);
  if (last) return { image: last.preview, caption: run.resultImage ? 'Result, last frame' : `Epoch ${last.epoch} of ${run.totalEpochs}` };
  return { image: run.contentImage, caption: 'Content image' };
}

export interface CompareViewActions {
  navigate(hash: string): void;
  changed(run: Run): void;
}

export class CompareView {
  readonly element: HTMLElement;
  private readonly title = h('h2', { class: 'panel-title', id: 'compare-title', tabindex: '-1' }, 'Compare runs');
  private readonly summary = h('p', { class: 'compare-summary' });
  private readonly body = h('div', { class: 'compare-body' });
  private readonly message = h('p', { class: 'compare-message', role: 'alert' });
  private readonly sweepForm: SweepForm;
  /** The hash of the comparison shown: the same one again is not fetched again. */
  private shownHash: string | undefined;
  private columns: Column[] = [];
  private unsubscribes: (() => void)[] = [];
  private generation = 0;

  constructor(private readonly actions: CompareViewActions) {
    this.sweepForm = new SweepForm({
      started: (param, base, runs) => this.actions.navigate(comparisonHash({ runIds: [base.id, ...runs.map((run) => run.id)], sweptParam: param })),
    });
    this.element = h('section', { class: 'panel compare', 'aria-labelledby': 'compare-title', hidden: true },
      this.title, this.summary, this.message, this.body, this.sweepForm.element);
  }

  /** Shows the comparison (fetched again only when it is another one), or hides the view for undefined. */
  show(comparison: Comparison | undefined): void {
    if (!comparison) {
      this.hide();
      return;
    }
    this.element.hidden = false;
    const hash = comparisonHash(comparison);
    if (hash !== this.shownHash) {
      this.shownHash = hash;
      void this.open(comparison);
    }
  }

  hide(): void {
    this.close();
    this.shownHash = undefined;
    this.element.hidden = true;
  }

  /** Scrolls the view's top into view and moves focus to its heading, where keyboard and screen-reader users continue. */
  bringIntoView(): void {
    this.element.scrollIntoView({ block: 'start' });
    this.title.focus({ preventScroll: true });
  }

  private close(): void {
    this.generation++;
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.unsubscribes = [];
  }

  private async open(comparison: Comparison): Promise<void> {
    this.close();
    const generation = ++this.generation;
    const { runIds, sweptParam } = comparison;
    this.title.textContent = sweptParam ? `Sweep of ${sweptParam}` : runIds.length === 1 ? `Sweep run ${short(runIds[0])}` : `Comparing ${runIds.length} runs`;
    this.summary.textContent = sweptParam
      ? `Clones of run ${short(runIds[0])}, one per value of ${sweptParam}; the first column is the run they were cloned from.`
      : runIds.length === 1 ? 'Pick a parameter and its values below: one clone of this run starts per value.'
        : 'Side by side; the parameters that differ are marked.';
    this.message.textContent = '';
    clear(this.body);
    this.body.append(h('p', { class: 'compare-loading' }, 'Loading runs…'));
    this.sweepForm.setRuns([], sweptParam);
    let runs;
    try {
      runs = await Promise.all(runIds.map((id) => getRun(id)));
    } catch (error) {
      if (generation !== this.generation) return;
      clear(this.body);
      this.message.textContent = `Could not load the runs: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    if (generation !== this.generation) return;
    this.columns = runIds.map((runId, i) => ({
      runId, run: runs[i], epochs: [...(runs[i]?.epochs ?? [])].sort((a, b) => a.epoch - b.epoch),
      images: [], caption: h('figcaption', {}), imageCell: h('td', {}), statusCell: h('td', {}), lossCells: [],
    }));
    this.render(sweptParam);
    for (const column of this.columns) {
      if (column.run && !FINISHED.has(column.run.status)) this.follow(column, generation);
    }
    this.sweepForm.setRuns(this.columns.flatMap((column) => (column.run ? [column.run] : [])), sweptParam);
  }

  private render(sweptParam: SweptParam | null): void {
    const columns = this.columns;
    const found = columns.flatMap((column) => (column.run ? [column.run] : []));
    const head = h('tr', {}, h('td', {}),
      ...columns.map((column, i) => {
        const value = sweptParam && column.run ? `${sweptParam} = ${column.run.params[sweptParam]}` : null;
        return h('th', { scope: 'col', class: 'compare-head', 'data-run-id': column.runId },
          value ? h('span', { class: 'compare-value' }, i === 0 ? `Reference · ${value}` : value) : null,
          column.run
            ? h('a', { href: `#/runs/${column.runId}`, class: 'compare-run-link' }, `Run ${short(column.runId)}`)
            : h('span', {}, `Run ${short(column.runId)} (not found)`));
      }));

    const imageRow = h('tr', { class: 'compare-images' }, h('th', { scope: 'row' }, 'Image'));
    const statusRow = h('tr', {}, h('th', { scope: 'row' }, 'Status'));
    const lossRows = LOSSES.map(([label]) => h('tr', { class: 'compare-loss' }, h('th', { scope: 'row' }, label)));
    for (const column of columns) {
      column.imageCell = h('td', { class: 'compare-cell', 'data-run-id': column.runId });
      const img = h('img', { class: 'compare-image', alt: '' });
      column.images = [img];
      column.caption = h('figcaption', { class: 'compare-caption' });
      column.imageCell.append(column.run
        ? h('figure', { class: 'compare-figure' }, h('div', { class: 'compare-frame' }, img), column.caption)
        : h('p', { class: 'compare-missing' }, 'There is no such run (it may have been deleted).'));
      imageRow.append(column.imageCell);
      column.statusCell = h('td', {});
      statusRow.append(column.statusCell);
      column.lossCells = lossRows.map((row) => row.appendChild(h('td', { class: 'compare-number' })));
    }

    const paramRows: HTMLTableRowElement[] = [];
    const row = (label: string, values: string[], cell: (run: Run) => Node) => {
      // Only runs that exist are compared: a missing one differs in nothing.
      const differs = found.length > 1 && new Set(values).size > 1;
      paramRows.push(h('tr', { class: differs ? 'compare-differs' : null },
        h('th', { scope: 'row' }, label, differs ? h('span', { class: 'compare-differs-note' }, ' differs') : null),
        ...columns.map((column) => h('td', {}, column.run ? (differs ? h('mark', {}, cell(column.run)) : cell(column.run)) : '–'))));
    };
    const imageIds = (images: Image[]) => images.map((image) => image.id).join(',');
    const thumbs = (images: Image[], label: string) => h('span', { class: 'compare-thumbs' },
      ...images.map((image, i) => apiPicture(image, { alt: images.length > 1 ? `${label} ${i + 1}` : label, width: 40, height: 40, loading: 'lazy' })));
    row('Content', found.map((run) => run.contentImage.id), (run) => thumbs([run.contentImage], 'Content image'));
    row('Style', found.map((run) => imageIds(run.styleImages)), (run) => thumbs(run.styleImages, 'Style image'));
    const text = (param: ParamRow, run: Run) => paramText(param, run.params) ?? '–';
    for (const param of PARAM_ROWS) row(param.label, found.map((run) => text(param, run)), (run) => document.createTextNode(text(param, run)));

    const captionId = uid('compare-caption');
    const table = h('table', { class: 'compare-table' },
      h('caption', { class: 'visually-hidden', id: captionId }, sweptParam ? `Runs by ${sweptParam}` : 'Runs side by side'),
      h('thead', {}, head),
      h('tbody', {}, imageRow, statusRow, ...lossRows),
      h('tbody', { class: 'compare-params' }, ...paramRows));
    // Equal columns however long their values (see .compare-table).
    table.style.setProperty('--columns', String(columns.length));
    clear(this.body);
    this.body.append(
      // Wider than the screen on a phone: the grid scrolls sideways in its own region, which the keyboard can reach.
      h('div', { class: 'compare-scroll', role: 'region', 'aria-labelledby': captionId, tabindex: '0' }, table));
    const pair = columns.filter((column) => column.run);
    if (pair.length === 2 && columns.length === 2) this.body.append(this.slider(pair[0], pair[1], sweptParam));
    for (const column of columns) this.update(column);
  }

  /**
   * Before/after: B's image under A's, A clipped at the handle (A left of it,
   * B right); a native range moves the handle, so arrow keys, Home and End work.
   */
  private slider(a: Column, b: Column, sweptParam: SweptParam | null): HTMLElement {
    const name = (column: Column) => (sweptParam ? `${sweptParam} = ${column.run!.params[sweptParam]}` : `run ${short(column.runId)}`);
    const top = h('img', { class: 'split-image split-top', alt: `Left of the handle: ${name(a)}` });
    const bottom = h('img', { class: 'split-image split-bottom', alt: `Right of the handle: ${name(b)}` });
    a.images.push(top);
    b.images.push(bottom);
    const frame = h('div', { class: 'split-frame' }, bottom, top, h('span', { class: 'split-handle', 'aria-hidden': 'true' }));
    const rangeId = uid('split-range');
    const range = h('input', { id: rangeId, type: 'range', class: 'split-range', min: 0, max: 100, step: 1, value: 50 });
    const position = () => {
      // Through the CSS object model: the page's CSP refuses style attributes.
      frame.style.setProperty('--split', `${range.value}%`);
      range.setAttribute('aria-valuetext', `${range.value}% ${name(a)}, ${100 - Number(range.value)}% ${name(b)}`);
    };
    range.addEventListener('input', position);
    position();
    const titleId = uid('split-title');
    return h('section', { class: 'split', 'aria-labelledby': titleId },
      h('h3', { class: 'subhead', id: titleId }, 'Before / after'),
      h('figure', { class: 'split-figure' }, frame,
        h('figcaption', { class: 'split-legend' }, h('span', {}, `◀ ${name(a)}`), h('span', {}, `${name(b)} ▶`))),
      h('label', { for: rangeId, class: 'split-label' }, `Handle: ${name(a)} left of it, ${name(b)} right`),
      range);
  }

  /** Repaints a column's changing cells from its run and epochs. */
  private update(column: Column): void {
    const run = column.run;
    if (!run) return;
    const { image, caption } = shownImage(run, column.epochs);
    for (const img of column.images) {
      if (img.dataset.url !== image.url) showImage(img, image.url);
      img.width = image.width;
      img.height = image.height;
      // Tiny runs are blown up: keep their pixels crisp rather than blurred.
      img.classList.toggle('pixelated', image.width < 64);
    }
    column.images[0].alt = `${caption} of run ${short(run.id)}`;
    // The frames take the stacked images' proportions (through the CSS object model: see slider).
    column.images[0].closest<HTMLElement>('.compare-figure')?.style.setProperty('--ratio', `${image.width} / ${image.height}`);
    column.images[1]?.closest<HTMLElement>('.split-frame')?.style.setProperty('--ratio', `${image.width} / ${image.height}`);
    column.caption.textContent = caption;
    column.imageCell.dataset.status = run.status;
    column.statusCell.replaceChildren(statusBadge(run.status));
    const last = column.epochs.at(-1);
    LOSSES.forEach(([, key], i) => {
      column.lossCells[i].textContent = formatNumber(last?.[key]);
    });
  }

  private follow(column: Column, generation: number): void {
    this.unsubscribes.push(followRun(column.runId, column.epochs, {
      changed: (run) => this.columnChanged(column, run, generation),
      ended: (run) => this.columnChanged(column, run, generation),
      error: (error) => {
        if (generation !== this.generation) return;
        this.message.textContent = `Live updates of run ${short(column.runId)} stopped: ${error.message}`;
      },
    }));
  }

  private columnChanged(column: Column, run: Run, generation: number): void {
    if (generation !== this.generation) return;
    column.run = run;
    this.update(column);
    this.actions.changed(run);
  }
}
