/**
 * Watching one run: the preview repaints at each epoch, the loss curves grow
 * point by point, status, epoch x/N, elapsed, ETA, queue position; cancel,
 * clone, delete; every epoch's preview to step through; for an animation or
 * a video, the strip of painted frames filling in, and the result played.
 */
import {
  ApiError, cancelRun, deleteRun, FINISHED, getRun, isFastMode, isVideo, linkImage, showImage, UNUSED_IN_MODE, type Image, type Run, type RunEpoch, type RunFrame,
} from './api';
import { followRun, latestPreview } from './follow-run';
import { LossChart } from './chart';
import { PARAM_ROWS, paramText } from './params';
import { apiImage, apiPicture, clear, formatDate, formatDuration, formatNumber, h, keepFocus, MODE_LABELS, statusBadge } from './dom';

interface ProgressPoint {
  /** Local clock when it was learned. */
  localMs: number;
  /** The run's computing time then. */
  elapsedMs: number;
  step: number;
  /** The pace a STEP event reports; null at an epoch's end (then the average is used). */
  stepsPerSecond: number | null;
}

function progressOfEpoch(epoch: RunEpoch): ProgressPoint {
  return { localMs: Date.now(), elapsedMs: epoch.elapsedMs, step: epoch.step, stepsPerSecond: null };
}

/** A result's file name ends as its kind: a run over a GIF gives a GIF, over an MP4 an MP4. */
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/webm': 'webm' };

/** How long each epoch shows when the epochs are played. */
const PLAY_FRAME_MS = 700;

export interface RunViewActions {
  clone(run: Run): void;
  deleted(runId: string): void;
  changed(run: Run): void;
}

export class RunView {
  readonly element: HTMLElement;
  private run: Run | undefined;
  private epochs: RunEpoch[] = [];
  /** Of a run over frames: those painted, in order. */
  private frames: RunFrame[] = [];
  /** The epoch shown in the big image; undefined follows the latest. */
  private pinnedEpoch: number | undefined;
  private unsubscribe: (() => void) | undefined;
  private ticker: number | undefined;
  /**
   * The latest point of progress known (an epoch's end or a STEP event), with
   * the local clock then: elapsed time and ETA are extrapolated from it.
   */
  private progressAt: ProgressPoint | undefined;
  private generation = 0;

  private readonly chart = new LossChart();
  private readonly title = h('h2', { class: 'panel-title', id: 'run-title', tabindex: '-1' }, 'Run');
  private readonly badgeHost = h('span', { class: 'badge-host', role: 'status', 'aria-live': 'polite' });
  private readonly meta = h('p', { class: 'run-meta' });
  private readonly preview = h('img', { class: 'preview-image', id: 'preview', alt: 'Run preview' });
  private readonly previewButton = h('button', { type: 'button', class: 'preview-button', onclick: () => this.showFullSize() },
    this.preview, h('span', { class: 'visually-hidden' }, ', view full size'));
  /** A video result plays here, looping and silent until the user turns the sound on. */
  private readonly previewVideo = h('video', { class: 'preview-video', controls: true, loop: true, muted: true, playsinline: true, hidden: true });
  private readonly previewCaption = h('figcaption', { class: 'preview-caption' });
  private readonly progress = h('progress', { class: 'progress', max: 1, value: 0, 'aria-labelledby': 'progress-label' });
  private readonly progressLabel = h('span', { id: 'progress-label', class: 'progress-label' });
  private readonly stats = h('dl', { class: 'stats' });
  private readonly actions = h('div', { class: 'run-actions' });
  private readonly message = h('p', { class: 'run-message', role: 'alert' });
  private readonly epochStrip = h('ol', { class: 'epoch-strip', 'aria-label': 'Previews by epoch' });
  private readonly frameCount = h('p', { class: 'frame-count' });
  private readonly frameStrip = h('ol', { class: 'frame-strip', 'aria-label': 'Painted frames' });
  private readonly framesSection = h('section', { class: 'frames', 'aria-labelledby': 'frames-title', hidden: true },
    h('h3', { class: 'subhead', id: 'frames-title' }, 'Frame by frame'),
    this.frameCount,
    this.frameStrip);
  /** Replaying the epochs: play/pause and a scrubber (a range input: arrow keys step through epochs). */
  private readonly playButton = h('button', { type: 'button', class: 'button play-button' }, 'Play');
  private readonly scrubber = h('input', { type: 'range', class: 'scrubber', id: 'epoch-scrubber', min: 1, max: 1, step: 1, value: 1 });
  private readonly scrubberValue = h('output', { class: 'scrubber-value', for: 'epoch-scrubber' });
  private readonly player = h('div', { class: 'player', role: 'group', 'aria-label': 'Replay the epochs', hidden: true },
    this.playButton,
    h('label', { for: 'epoch-scrubber', class: 'scrubber-label' }, 'Epoch'),
    this.scrubber,
    this.scrubberValue);
  private playTimer: number | undefined;
  /** The full-size view of the shown image, scaled smoothly to the window. */
  private readonly lightboxImage = h('img', { class: 'lightbox-image', alt: '' });
  private readonly lightbox = h('dialog', { class: 'lightbox', 'aria-label': 'Full size' },
    h('form', { method: 'dialog', class: 'lightbox-bar' }, h('button', { type: 'submit', class: 'button' }, 'Close')),
    this.lightboxImage);
  private readonly inputs = h('div', { class: 'run-inputs' });
  private readonly params = h('dl', { class: 'params' });

  constructor(private readonly handlers: RunViewActions) {
    this.playButton.addEventListener('click', () => (this.playTimer === undefined ? this.play() : this.pause()));
    this.scrubber.addEventListener('input', () => {
      this.pause();
      this.showEpoch(Number(this.scrubber.value));
    });
    this.element = h('section', { class: 'panel run-view', 'aria-labelledby': 'run-title', hidden: true },
      h('header', { class: 'run-header' }, this.title, this.badgeHost),
      this.meta,
      h('figure', { class: 'preview' },
        h('div', { class: 'preview-frame' }, this.previewButton, this.previewVideo),
        this.previewCaption),
      this.lightbox,
      h('div', { class: 'progress-row' }, this.progressLabel, this.progress),
      this.stats,
      this.message,
      this.actions,
      this.chart.element,
      this.framesSection,
      h('section', { class: 'epochs', 'aria-labelledby': 'epochs-title' },
        h('h3', { class: 'subhead', id: 'epochs-title' }, 'Epoch by epoch'),
        this.player,
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
    let frames: RunFrame[] = [];
    try {
      const fetched = await getRun(typeof runOrId === 'string' ? runOrId : runOrId.id);
      if (generation !== this.generation) return;
      run = fetched;
      epochs = fetched?.epochs ?? [];
      frames = fetched?.frames ?? [];
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
    this.frames = frames;
    this.pinnedEpoch = undefined;
    const last = this.epochs.at(-1);
    this.progressAt = last ? progressOfEpoch(last) : undefined;
    this.chart.setEpochs(this.epochs);
    this.render();
    if (!FINISHED.has(run.status)) this.follow(run.id);
  }

  close(): void {
    this.pause();
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
    this.frames = [];
    this.chart.setEpochs([]);
    this.title.textContent = 'Run not found';
    clear(this.badgeHost);
    this.meta.textContent = '';
    this.message.textContent = message;
    this.preview.removeAttribute('src');
    delete this.preview.dataset.url;
    this.showVideo(null);
    this.framesSection.hidden = true;
    this.previewCaption.textContent = '';
    // Nothing of the run shown before may stay: its progress least of all.
    this.progress.value = 0;
    this.progressLabel.textContent = '';
    this.player.hidden = true;
    clear(this.actions);
    clear(this.stats);
    clear(this.epochStrip);
    clear(this.inputs);
    clear(this.params);
  }

  private follow(runId: string): void {
    this.ticker = window.setInterval(() => this.renderStats(), 1000);
    this.unsubscribe = followRun(runId, this.epochs, {
      changed: (run, added) => {
        this.run = run;
        if (added) {
          this.advance(progressOfEpoch(added));
          this.chart.addEpoch(added);
        }
        this.render();
        this.handlers.changed(run);
      },
      frame: (frame) => {
        if (!this.frames.some((f) => f.frame === frame.frame)) this.frames.push(frame);
      },
      ended: (run) => {
        if (this.ticker !== undefined) clearInterval(this.ticker);
        this.ticker = undefined;
        this.run = run;
        this.frames = run.frames;
        this.chart.setEpochs(this.epochs);
        this.render();
        this.handlers.changed(run);
      },
      // Steps move only the bar and the figures: a whole render a few times a second would cost clicks and focus.
      step: (step) => {
        this.advance({ localMs: Date.now(), elapsedMs: step.elapsedMs, step: step.step, stepsPerSecond: step.stepsPerSecond });
        this.renderProgress();
        this.renderStats();
      },
      error: (error: ApiError) => {
        this.message.textContent = `Live updates stopped: ${error.message}`;
      },
    });
  }

  /** The image to show: a pinned epoch, else the result when done, else the latest preview, else the content. */
  private shownImage(): { image: Image | null; caption: string } {
    const run = this.run!;
    const pinned = this.pinnedEpoch !== undefined ? this.epochs.find((e) => e.epoch === this.pinnedEpoch) : undefined;
    if (pinned?.preview) return { image: pinned.preview, caption: `Epoch ${pinned.epoch} of ${run.totalEpochs}` };
    if (run.resultImage) {
      const frames = run.totalFrames > 1 ? ` · ${run.totalFrames} frames` : '';
      return { image: run.resultImage, caption: `Result · ${run.resultImage.width}×${run.resultImage.height}${frames}` };
    }
    const last = latestPreview(this.epochs);
    if (last) return { image: last.preview, caption: `Epoch ${last.epoch} of ${run.totalEpochs}` };
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
    this.showVideo(image && isVideo(image) ? image : null);
    if (image && !isVideo(image) && this.preview.dataset.url !== image.url) {
      showImage(this.preview, image.url);
      this.preview.width = image.width;
      this.preview.height = image.height;
      // Tiny runs are blown up: keep their pixels crisp rather than blurred.
      this.preview.classList.toggle('preview-pixelated', image.width < 64);
    }
    this.preview.alt = `${caption} of run ${run.id.slice(0, 8)}`;
    this.previewVideo.setAttribute('aria-label', `${caption} of run ${run.id.slice(0, 8)}`);
    this.preview.dataset.epoch = String(this.epochs.at(-1)?.epoch ?? 0);
    this.previewCaption.textContent = caption;

    this.renderProgress();
    this.renderStats();

    if (run.status === 'FAILED' && run.error) this.message.textContent = `Failed: ${run.error}`;
    else if (this.message.textContent?.startsWith('Failed:')) this.message.textContent = '';

    // A finished run has no Cancel: the keyboard then continues at the run's heading.
    keepFocus(this.actions, () => this.renderActions(run), this.title);
    this.renderEpochStrip();
    this.renderFrameStrip();
    this.renderInputs();
  }

  /** Plays `video` in place of the preview image; null shows the image again. */
  private showVideo(video: Image | null): void {
    this.previewVideo.hidden = video === null;
    this.previewButton.hidden = video !== null;
    if (video === null) {
      this.previewVideo.pause();
      this.previewVideo.removeAttribute('src');
      delete this.previewVideo.dataset.url;
      return;
    }
    if (this.previewVideo.dataset.url === video.url) return;
    this.previewVideo.width = video.width;
    this.previewVideo.height = video.height;
    this.previewVideo.classList.toggle('preview-pixelated', video.width < 64);
    showImage(this.previewVideo, video.url);
    // Muted, so the browser lets it start on its own; its controls turn the sound on. (The muted attribute is only
    // the default a parsed page starts from: the state is the property's.)
    this.previewVideo.muted = true;
    this.previewVideo.autoplay = true;
  }

  /** A run over frames: one place per frame, each painted one's image as it comes. */
  private renderFrameStrip(): void {
    const run = this.run!;
    this.framesSection.hidden = run.totalFrames <= 1;
    if (this.framesSection.hidden) return;
    this.frameCount.textContent = `${this.frames.length} of ${run.totalFrames} frames painted`;
    clear(this.frameStrip);
    const painted = new Map(this.frames.map((frame) => [frame.frame, frame]));
    for (let index = 1; index <= run.totalFrames; index++) {
      const frame = painted.get(index);
      this.frameStrip.append(frame
        ? h('li', { class: 'frame-thumb', 'data-frame': index },
          apiImage(frame.image.url, { alt: `Frame ${index}`, width: 48, height: 48, loading: 'lazy' }))
        : h('li', { class: 'frame-thumb frame-pending', 'data-frame': index },
          h('span', { 'aria-hidden': 'true' }, String(index)), h('span', { class: 'visually-hidden' }, `Frame ${index}, not painted yet`)));
    }
  }

  private renderActions(run: Run): void {
    clear(this.actions);
    if (!FINISHED.has(run.status)) {
      this.actions.append(h('button', { type: 'button', class: 'button button-danger', 'data-focus-key': 'cancel', onclick: () => void this.cancel() }, 'Cancel run'));
    }
    this.actions.append(h('button', { type: 'button', class: 'button', 'data-focus-key': 'clone', onclick: () => this.handlers.clone(run) }, 'Clone with changes'));
    // Without a result (running, canceled, failed) the latest epoch is the picture so far, and downloadable too.
    const latest = latestPreview(this.epochs);
    const download = run.resultImage
      ? { image: run.resultImage, label: 'Download', file: `stylegraph-${run.id.slice(0, 8)}.${EXTENSIONS[run.resultImage.mimeType] ?? 'png'}` }
      : latest ? { image: latest.preview, label: `Download epoch ${latest.epoch}`, file: `stylegraph-${run.id.slice(0, 8)}-epoch-${latest.epoch}.png` } : undefined;
    if (download) {
      const link = h('a', { class: 'button', download: download.file, 'data-focus-key': 'download' }, download.label);
      linkImage(link, download.image.url);
      this.actions.append(link);
    }
    if (FINISHED.has(run.status)) {
      this.actions.append(h('button', { type: 'button', class: 'button button-quiet', 'data-focus-key': 'delete', onclick: () => void this.delete() }, 'Delete'));
    }
  }

  /**
   * Keeps the newer of the known progress points (a STEP may arrive after the
   * epoch it preceded). An epoch's end tells no pace: the last step's stays,
   * rather than the whole run's average (previews and start-up included).
   */
  private advance(point: ProgressPoint): void {
    if (this.progressAt && point.step < this.progressAt.step) return;
    this.progressAt = { ...point, stepsPerSecond: point.stepsPerSecond ?? this.progressAt?.stepsPerSecond ?? null };
  }

  private totalSteps(): number {
    const run = this.run!;
    return UNUSED_IN_MODE[run.params.mode].has('stepsPerEpoch') ? 0 : run.totalEpochs * run.params.stepsPerEpoch;
  }

  /** The bar moves with the steps (with the epochs where there are none: FAST), the label says the epoch. */
  private renderProgress(): void {
    const run = this.run!;
    const total = this.totalSteps();
    const done = FINISHED.has(run.status) ? this.epochs.at(-1)?.step ?? 0 : this.progressAt?.step ?? 0;
    this.progress.value = run.status === 'SUCCEEDED' ? 1 : total > 0 ? Math.min(1, done / total) : run.totalEpochs > 0 ? run.currentEpoch / run.totalEpochs : 0;
    this.progressLabel.textContent = `Epoch ${run.currentEpoch} / ${run.totalEpochs}`;
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
    const total = this.totalSteps();
    if (total > 0) {
      items.push(['Steps', `${FINISHED.has(run.status) ? last?.step ?? 0 : this.progressAt?.step ?? 0} / ${total}`]);
      const rate = this.stepsPerSecond();
      if (run.status === 'RUNNING') items.push(['Steps per second', rate === undefined ? '–' : formatNumber(rate)]);
    }
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
    if (this.progressAt) return this.progressAt.elapsedMs + (Date.now() - this.progressAt.localMs);
    return run.startedAt ? Math.max(0, Date.now() - Date.parse(run.startedAt)) : undefined;
  }

  /** The pace: the latest STEP event's, else the average of the epochs so far. */
  private stepsPerSecond(): number | undefined {
    const point = this.progressAt;
    if (!point) return undefined;
    if (point.stepsPerSecond !== null) return point.stepsPerSecond;
    return point.step > 0 && point.elapsedMs > 0 ? point.step / (point.elapsedMs / 1000) : undefined;
  }

  private etaMs(elapsed: number | undefined): number | undefined {
    const run = this.run!;
    const point = this.progressAt;
    if (!point || elapsed === undefined) return undefined;
    const total = this.totalSteps();
    const rate = this.stepsPerSecond();
    if (total > 0 && rate) return Math.max(0, ((total - point.step) / rate) * 1000 - (elapsed - point.elapsedMs));
    // No steps to count (FAST): by the epochs.
    const last = this.epochs.at(-1);
    if (!last || last.epoch === 0) return undefined;
    return Math.max(0, (run.totalEpochs - last.epoch) * (last.elapsedMs / last.epoch) - (elapsed - last.elapsedMs));
  }

  private renderEpochStrip(): void {
    const withPreview = this.epochs.filter((e) => e.preview);
    this.player.hidden = withPreview.length < 2;
    this.scrubber.max = String(this.epochs.at(-1)?.epoch ?? 1);
    const shownEpoch = this.pinnedEpoch ?? this.epochs.at(-1)?.epoch ?? 1;
    this.scrubber.value = String(shownEpoch);
    this.scrubberValue.textContent = `${shownEpoch} of ${this.run?.totalEpochs ?? shownEpoch}`;
    this.scrubber.setAttribute('aria-valuetext', `Epoch ${this.scrubberValue.textContent}`);
    keepFocus(this.epochStrip, () => {
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
            type: 'button', class: 'epoch-thumb', 'aria-pressed': String(shown), 'data-focus-key': String(epoch.epoch),
            'aria-label': `Show epoch ${epoch.epoch}: total loss ${formatNumber(epoch.totalLoss)}`,
            onclick: () => {
              this.pause();
              this.pinnedEpoch = this.pinnedEpoch === epoch.epoch ? undefined : epoch.epoch;
              this.render();
            },
          },
          epoch.preview ? apiImage(epoch.preview.url, { alt: '', width: 64, height: 64, loading: 'lazy' }) : null,
          h('span', {}, String(epoch.epoch)))));
      }
    });
  }

  /** Shows the epoch nearest at or below `epoch` that has a preview. */
  private showEpoch(epoch: number): void {
    const target = [...this.epochs].reverse().find((e) => e.epoch <= epoch && e.preview) ?? this.epochs.find((e) => e.preview);
    if (!target) return;
    this.pinnedEpoch = target.epoch;
    this.render();
  }

  /** Plays the epochs in order, from the first when at the end, then stops on the last (the result, once there is one). */
  private play(): void {
    const epochs = this.epochs.filter((e) => e.preview).map((e) => e.epoch);
    if (epochs.length < 2) return;
    let index = this.pinnedEpoch === undefined ? -1 : epochs.indexOf(this.pinnedEpoch);
    if (index === -1 || index === epochs.length - 1) index = 0;
    this.pinnedEpoch = epochs[index];
    this.playButton.textContent = 'Pause';
    this.render();
    this.playTimer = window.setInterval(() => {
      index += 1;
      if (index >= epochs.length) {
        this.pause();
        this.pinnedEpoch = undefined;
      } else {
        this.pinnedEpoch = epochs[index];
      }
      this.render();
    }, PLAY_FRAME_MS);
  }

  private pause(): void {
    if (this.playTimer === undefined) return;
    clearInterval(this.playTimer);
    this.playTimer = undefined;
    this.playButton.textContent = 'Play';
  }

  /** The shown image at full size in a modal dialog (Escape closes it), scaled smoothly to the window where it is larger. */
  private showFullSize(): void {
    const url = this.preview.dataset.url;
    if (!url) return;
    showImage(this.lightboxImage, url);
    this.lightboxImage.alt = this.preview.alt;
    this.lightboxImage.style.setProperty('--aspect', String(this.preview.width / Math.max(1, this.preview.height)));
    this.lightbox.showModal();
  }

  private renderInputs(): void {
    const run = this.run!;
    clear(this.inputs);
    const thumb = (image: Image, label: string) => h('figure', { class: 'input-thumb' },
      apiPicture(image, { alt: '', width: 72, height: 72, loading: 'lazy' }),
      h('figcaption', {}, label, image.fileName ? h('span', { class: 'input-name', title: image.fileName }, image.fileName) : null));
    this.inputs.append(thumb(run.contentImage, 'Content'));
    // The fast modes' one style image is the preset network's painting.
    const styleLabel = (i: number) => (isFastMode(run.params.mode) ? 'Painting' : run.styleImages.length > 1 ? `Style ${i + 1}` : 'Style');
    run.styleImages.forEach((image, i) => this.inputs.append(thumb(image, styleLabel(i))));
    clear(this.params);
    const p = run.params;
    for (const row of PARAM_ROWS) {
      const text = paramText(row, p);
      if (text !== undefined && (!row.notable || row.notable(p))) this.params.append(h('div', {}, h('dt', {}, row.label), h('dd', {}, text)));
    }
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
