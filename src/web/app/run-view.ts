/**
 * Watching one run: the preview repaints at each epoch, the loss curves grow
 * point by point, status, epoch x/N, elapsed, ETA, queue position; cancel,
 * clone, delete; every epoch's preview to step through.
 */
import { ApiError, cancelRun, deleteRun, FINISHED, getRun, linkImage, showImage, subscribeRunEvents, type Image, type Run, type RunEpoch } from './api';
import { LossChart } from './chart';
import { apiImage, clear, formatDate, formatDuration, formatNumber, h, statusBadge } from './dom';

export interface RunViewActions {
  clone(run: Run): void;
  deleted(runId: string): void;
  changed(run: Run): void;
}

export class RunView {
  readonly element: HTMLElement;
  private run: Run | undefined;
  private epochs: RunEpoch[] = [];
  /** The epoch shown in the big image; undefined follows the latest. */
  private pinnedEpoch: number | undefined;
  private unsubscribe: (() => void) | undefined;
  private ticker: number | undefined;
  /** Local clock at the latest epoch event, to extrapolate elapsed time and ETA between epochs. */
  private lastEpochAt: { localMs: number; elapsedMs: number } | undefined;
  private generation = 0;

  private readonly chart = new LossChart();
  private readonly title = h('h2', { class: 'panel-title', id: 'run-title', tabindex: '-1' }, 'Run');
  private readonly badgeHost = h('span', { class: 'badge-host', role: 'status', 'aria-live': 'polite' });
  private readonly meta = h('p', { class: 'run-meta' });
  private readonly preview = h('img', { class: 'preview-image', id: 'preview', alt: 'Run preview' });
  private readonly previewCaption = h('figcaption', { class: 'preview-caption' });
  private readonly progress = h('progress', { class: 'progress', max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  private readonly progressLabel = h('span', { id: 'progress-label', class: 'progress-label' });
  private readonly stats = h('dl', { class: 'stats' });
  private readonly actions = h('div', { class: 'run-actions' });
  private readonly message = h('p', { class: 'run-message', role: 'alert' });
  private readonly epochStrip = h('ol', { class: 'epoch-strip', 'aria-label': 'Previews by epoch' });
  private readonly inputs = h('div', { class: 'run-inputs' });
  private readonly params = h('dl', { class: 'params' });

  constructor(private readonly handlers: RunViewActions) {
    this.element = h('section', { class: 'panel run-view', 'aria-labelledby': 'run-title', hidden: true },
      h('header', { class: 'run-header' }, this.title, this.badgeHost),
      this.meta,
      h('figure', { class: 'preview' },
        h('div', { class: 'preview-frame' }, this.preview),
        this.previewCaption),
      h('div', { class: 'progress-row' }, this.progressLabel, this.progress),
      this.stats,
      this.message,
      this.actions,
      this.chart.element,
      h('section', { class: 'epochs', 'aria-labelledby': 'epochs-title' },
        h('h3', { class: 'subhead', id: 'epochs-title' }, 'Epoch by epoch'),
        this.epochStrip),
      h('section', { class: 'run-details', 'aria-label': 'Run inputs and parameters' },
        h('h3', { class: 'subhead' }, 'Inputs'),
        this.inputs,
        h('h3', { class: 'subhead' }, 'Parameters'),
        this.params));
  }

  get runId(): string | undefined {
    return this.run?.id;
  }

  /** Shows a run (already fetched or just started) and follows it live until it finishes. */
  async open(runOrId: Run | string): Promise<void> {
    this.close();
    const generation = ++this.generation;
    this.element.hidden = false;
    delete this.element.dataset.status;
    delete this.element.dataset.runId;
    this.message.textContent = '';
    let run: Run | null;
    let epochs: RunEpoch[] = [];
    try {
      const fetched = await getRun(typeof runOrId === 'string' ? runOrId : runOrId.id);
      if (generation !== this.generation) return;
      run = fetched;
      epochs = fetched?.epochs ?? [];
    } catch (error) {
      if (generation !== this.generation) return;
      if (typeof runOrId === 'string') {
        this.showMissing(error instanceof Error ? error.message : String(error));
        return;
      }
      run = runOrId;
    }
    if (!run) {
      this.showMissing('There is no such run (it may have been deleted).');
      return;
    }
    this.run = run;
    this.epochs = [...epochs].sort((a, b) => a.epoch - b.epoch);
    this.pinnedEpoch = undefined;
    const last = this.epochs.at(-1);
    this.lastEpochAt = last ? { localMs: Date.now(), elapsedMs: last.elapsedMs } : undefined;
    this.chart.setEpochs(this.epochs);
    this.render();
    if (!FINISHED.has(run.status)) this.follow(run.id, last?.epoch ?? 0, generation);
  }

  close(): void {
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Scrolls the run's top into view and moves focus to its heading, so keyboard and screen-reader users continue there. */
  bringIntoView(): void {
    this.element.scrollIntoView({ block: 'start' });
    this.title.focus({ preventScroll: true });
  }

  hide(): void {
    this.close();
    this.run = undefined;
    this.element.hidden = true;
  }

  private showMissing(message: string): void {
    this.run = undefined;
    this.epochs = [];
    this.chart.setEpochs([]);
    this.title.textContent = 'Run not found';
    clear(this.badgeHost);
    this.meta.textContent = '';
    this.message.textContent = message;
    this.preview.removeAttribute('src');
    delete this.preview.dataset.url;
    this.previewCaption.textContent = '';
    clear(this.actions);
    clear(this.stats);
    clear(this.epochStrip);
    clear(this.inputs);
    clear(this.params);
  }

  private follow(runId: string, sinceEpoch: number, generation: number): void {
    this.ticker = window.setInterval(() => this.renderStats(), 1000);
    this.unsubscribe = subscribeRunEvents(runId, sinceEpoch, {
      next: (event) => {
        if (generation !== this.generation) return;
        this.run = event.run;
        if (event.kind === 'EPOCH' && event.epoch && !this.epochs.some((e) => e.epoch === event.epoch!.epoch)) {
          this.epochs.push(event.epoch);
          this.epochs.sort((a, b) => a.epoch - b.epoch);
          this.lastEpochAt = { localMs: Date.now(), elapsedMs: event.epoch.elapsedMs };
          this.chart.addEpoch(event.epoch);
        }
        this.render();
        this.handlers.changed(event.run);
      },
      error: (error: ApiError) => {
        if (generation !== this.generation) return;
        this.message.textContent = `Live updates stopped: ${error.message}`;
      },
      complete: () => {
        if (generation !== this.generation) return;
        if (this.ticker !== undefined) clearInterval(this.ticker);
        this.ticker = undefined;
        // The final status event carries the run; fetch once more for its result image and every epoch.
        void getRun(runId).then((run) => {
          if (generation !== this.generation || !run) return;
          this.run = run;
          for (const epoch of run.epochs) if (!this.epochs.some((e) => e.epoch === epoch.epoch)) this.epochs.push(epoch);
          this.epochs.sort((a, b) => a.epoch - b.epoch);
          this.chart.setEpochs(this.epochs);
          this.render();
          this.handlers.changed(run);
        }).catch(() => undefined);
      },
    });
  }

  /** The image to show: a pinned epoch, else the result when done, else the latest preview, else the content. */
  private shownImage(): { image: Image | null; caption: string } {
    const run = this.run!;
    const pinned = this.pinnedEpoch !== undefined ? this.epochs.find((e) => e.epoch === this.pinnedEpoch) : undefined;
    if (pinned?.preview) return { image: pinned.preview, caption: `Epoch ${pinned.epoch} of ${run.totalEpochs}` };
    if (run.resultImage) return { image: run.resultImage, caption: `Result · ${run.resultImage.width}×${run.resultImage.height}` };
    const last = [...this.epochs].reverse().find((e) => e.preview);
    if (last?.preview) return { image: last.preview, caption: `Epoch ${last.epoch} of ${run.totalEpochs}` };
    return { image: run.contentImage, caption: run.status === 'QUEUED' ? 'Content image · waiting to start' : 'Content image · painting starts after the first epoch' };
  }

  private render(): void {
    const run = this.run;
    if (!run) return;
    this.title.textContent = `Run ${run.id.slice(0, 8)}`;
    clear(this.badgeHost);
    this.badgeHost.append(statusBadge(run.status));
    this.element.dataset.status = run.status;
    this.element.dataset.runId = run.id;
    this.meta.textContent = `Created ${formatDate(run.createdAt)}${run.backend ? ` · ${run.backend}` : ''}`;

    const { image, caption } = this.shownImage();
    if (image && this.preview.dataset.url !== image.url) {
      showImage(this.preview, image.url);
      this.preview.width = image.width;
      this.preview.height = image.height;
      // Tiny runs are blown up: keep their pixels crisp rather than blurred.
      this.preview.classList.toggle('preview-pixelated', image.width < 64);
    }
    this.preview.alt = `${caption} of run ${run.id.slice(0, 8)}`;
    this.preview.dataset.epoch = String(this.epochs.at(-1)?.epoch ?? 0);
    this.previewCaption.textContent = caption;

    this.progress.value = run.totalEpochs > 0 ? run.currentEpoch / run.totalEpochs : 0;
    this.progressLabel.textContent = `Epoch ${run.currentEpoch} / ${run.totalEpochs}`;
    this.renderStats();

    if (run.status === 'FAILED' && run.error) this.message.textContent = `Failed: ${run.error}`;
    else if (this.message.textContent?.startsWith('Failed:')) this.message.textContent = '';

    clear(this.actions);
    if (!FINISHED.has(run.status)) {
      this.actions.append(h('button', { type: 'button', class: 'button button-danger', onclick: () => void this.cancel() }, 'Cancel run'));
    }
    this.actions.append(h('button', { type: 'button', class: 'button', onclick: () => this.handlers.clone(run) }, 'Clone with changes'));
    if (run.resultImage) {
      const download = h('a', { class: 'button', download: `stylegraph-${run.id.slice(0, 8)}.png` }, 'Download');
      linkImage(download, run.resultImage.url);
      this.actions.append(download);
    }
    if (FINISHED.has(run.status)) {
      this.actions.append(h('button', { type: 'button', class: 'button button-quiet', onclick: () => void this.delete() }, 'Delete'));
    }

    this.renderEpochStrip();
    this.renderInputs();
  }

  private renderStats(): void {
    const run = this.run;
    if (!run) return;
    const items: [string, string][] = [];
    if (run.status === 'QUEUED') {
      items.push(['Queue position', run.queuePosition === null ? '–' : run.queuePosition === 0 ? 'next' : `${run.queuePosition}`]);
    }
    const elapsed = this.elapsedMs();
    items.push(['Elapsed', elapsed === undefined ? '–' : formatDuration(elapsed)]);
    if (run.status === 'RUNNING' || run.status === 'QUEUED') {
      const eta = this.etaMs(elapsed);
      items.push(['ETA', eta === undefined ? (run.status === 'QUEUED' ? 'after it starts' : 'after the first epoch') : formatDuration(eta)]);
    } else if (run.finishedAt) {
      items.push(['Finished', formatDate(run.finishedAt)]);
    }
    const last = this.epochs.at(-1);
    items.push(['Steps', last ? `${last.step} / ${run.totalEpochs * run.params.stepsPerEpoch}` : `0 / ${run.totalEpochs * run.params.stepsPerEpoch}`]);
    items.push(['Total loss', formatNumber(last?.totalLoss)]);
    clear(this.stats);
    for (const [term, value] of items) this.stats.append(h('div', { class: 'stat' }, h('dt', {}, term), h('dd', {}, value)));
  }

  private elapsedMs(): number | undefined {
    const run = this.run!;
    const last = this.epochs.at(-1);
    if (FINISHED.has(run.status)) {
      if (run.startedAt && run.finishedAt) return Date.parse(run.finishedAt) - Date.parse(run.startedAt);
      return last?.elapsedMs;
    }
    if (run.status !== 'RUNNING') return undefined;
    if (this.lastEpochAt) return this.lastEpochAt.elapsedMs + (Date.now() - this.lastEpochAt.localMs);
    return run.startedAt ? Math.max(0, Date.now() - Date.parse(run.startedAt)) : undefined;
  }

  private etaMs(elapsed: number | undefined): number | undefined {
    const run = this.run!;
    const last = this.epochs.at(-1);
    if (!last || last.epoch === 0 || elapsed === undefined) return undefined;
    const perEpoch = last.elapsedMs / last.epoch;
    const remaining = (run.totalEpochs - last.epoch) * perEpoch - (elapsed - last.elapsedMs);
    return Math.max(0, remaining);
  }

  private renderEpochStrip(): void {
    clear(this.epochStrip);
    if (this.epochs.length === 0) {
      this.epochStrip.append(h('li', { class: 'epoch-empty' }, this.run?.status === 'QUEUED' ? 'Waiting in the queue.' : 'No epoch finished yet.'));
      return;
    }
    const latest = this.epochs.at(-1)!.epoch;
    for (const epoch of this.epochs) {
      const shown = (this.pinnedEpoch ?? (this.run?.resultImage ? -1 : latest)) === epoch.epoch;
      this.epochStrip.append(h('li', {},
        h('button', {
          type: 'button', class: 'epoch-thumb', 'aria-pressed': String(shown),
          'aria-label': `Show epoch ${epoch.epoch}: total loss ${formatNumber(epoch.totalLoss)}`,
          onclick: () => {
            this.pinnedEpoch = this.pinnedEpoch === epoch.epoch ? undefined : epoch.epoch;
            this.render();
          },
        },
        epoch.preview ? apiImage(epoch.preview.url, { alt: '', width: 64, height: 64, loading: 'lazy' }) : null,
        h('span', {}, String(epoch.epoch)))));
    }
  }

  private renderInputs(): void {
    const run = this.run!;
    clear(this.inputs);
    const thumb = (image: Image, label: string) => h('figure', { class: 'input-thumb' },
      apiImage(image.url, { alt: label, width: 72, height: 72, loading: 'lazy' }),
      h('figcaption', {}, label));
    this.inputs.append(thumb(run.contentImage, 'Content'));
    run.styleImages.forEach((image, i) => this.inputs.append(thumb(image, run.styleImages.length > 1 ? `Style ${i + 1}` : 'Style')));
    clear(this.params);
    const p = run.params;
    const rows: [string, string][] = [
      ['Size', `${p.maxDim} px`],
      ['Epochs × steps', `${p.epochs} × ${p.stepsPerEpoch}`],
      ['Content weight', formatNumber(p.contentWeight)],
      ['Style weight', formatNumber(p.styleWeight)],
      ['TV weight', formatNumber(p.totalVariationWeight)],
      ['Optimizer', p.optimizer === 'LBFGS' ? 'L-BFGS' : 'Adam'],
      ['Learning rate', formatNumber(p.learningRate)],
      ['Seed', String(p.seed)],
      ['Start from', p.init.toLowerCase()],
      ['Keep colours', p.preserveColors ? 'yes' : 'no'],
    ];
    if (p.multiscale > 1) rows.push(['Scales', String(p.multiscale)]);
    if (p.styleBlend) rows.push(['Style blend', p.styleBlend.join(', ')]);
    for (const [term, value] of rows) this.params.append(h('div', {}, h('dt', {}, term), h('dd', {}, value)));
  }

  private async cancel(): Promise<void> {
    if (!this.run) return;
    try {
      this.run = await cancelRun(this.run.id);
      this.render();
      this.handlers.changed(this.run);
    } catch (error) {
      this.message.textContent = `Could not cancel: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private async delete(): Promise<void> {
    const run = this.run;
    if (!run || !window.confirm(`Delete run ${run.id.slice(0, 8)} and its images?`)) return;
    try {
      await deleteRun(run.id);
      this.hide();
      this.handlers.deleted(run.id);
    } catch (error) {
      this.message.textContent = `Could not delete: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
