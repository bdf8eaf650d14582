/** History: every run, newest first, with its final image and parameters; filter by status; open or clone. */
import { FINISHED, listRuns, RUN_STATUSES, stillOf, type Image, type Run, type RunStatus } from './api';
import { apiPicture, clear, formatDate, formatNumber, h, keepFocus, MODE_LABELS, STATUS_LABELS, statusBadge, uid } from './dom';

const PAGE_SIZE = 12;

export interface GalleryActions {
  open(run: Run): void;
  clone(run: Run): void;
  /** Every image the loaded runs used, newest first, for reuse in the form. */
  images(images: Image[]): void;
  /** The card's comparison controls (compare.ts): a Compare checkbox, Sweep…. */
  compareControls(run: Run): Node;
}

/** A card's one line of parameters: the method, and what sets a run apart in it. */
function cardParams(run: Run): string {
  const p = run.params;
  const optimization = `${p.epochs}×${p.stepsPerEpoch} · style ${formatNumber(p.styleWeight)} · seed ${p.seed}`;
  if (p.mode === 'OPTIMIZE') return `${p.maxDim} px · ${optimization}`;
  const fast = `${MODE_LABELS[p.mode]} · ${p.preset} · ${p.maxDim} px`;
  return p.mode === 'FAST' ? fast : `${fast} · ${optimization}`;
}

export class Gallery {
  readonly element: HTMLElement;
  private runs: Run[] = [];
  private status: RunStatus | null = null;
  private endCursor: string | null = null;
  private hasNextPage = false;
  private loading = false;
  private reloadAfter = false;
  private selectedId: string | undefined;
  private refreshTimer: number | undefined;
  private readonly grid = h('ul', { class: 'gallery-grid', 'aria-live': 'polite', 'aria-busy': 'false' });
  private readonly more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show more');
  private readonly note = h('p', { class: 'gallery-note' });

  constructor(private readonly actions: GalleryActions) {
    const filterId = uid('status-filter');
    const filter = h('select', { id: filterId, name: 'statusFilter' },
      h('option', { value: '' }, 'All runs'),
      ...RUN_STATUSES.map((status) => h('option', { value: status }, STATUS_LABELS[status])));
    filter.addEventListener('change', () => {
      this.status = (filter.value || null) as RunStatus | null;
      void this.reload();
    });
    this.more.addEventListener('click', () => void this.load(false));
    this.element = h('section', { class: 'panel gallery', id: 'gallery', 'aria-labelledby': 'gallery-title' },
      h('header', { class: 'gallery-header' },
        h('h2', { class: 'panel-title', id: 'gallery-title' }, 'Gallery'),
        h('div', { class: 'gallery-tools' },
          h('label', { for: filterId }, 'Show'),
          filter,
          h('button', { type: 'button', class: 'button button-quiet', onclick: () => void this.reload() }, 'Refresh'))),
      this.grid,
      this.note,
      this.more);
  }

  select(runId: string | undefined): void {
    this.selectedId = runId;
    for (const card of this.grid.querySelectorAll<HTMLElement>('.run-card')) {
      card.classList.toggle('run-card-selected', card.dataset.runId === runId);
    }
  }

  reload(): Promise<void> {
    return this.load(true);
  }

  /** A run changed (an event): update its card, or reload when it is new to the list. */
  update(run: Run): void {
    const index = this.runs.findIndex((r) => r.id === run.id);
    if (index === -1) {
      void this.reload();
      return;
    }
    this.runs[index] = run;
    if (this.status && run.status !== this.status) this.runs.splice(index, 1);
    this.render();
  }

  remove(runId: string): void {
    this.runs = this.runs.filter((run) => run.id !== runId);
    this.render();
  }

  private async load(fresh: boolean): Promise<void> {
    if (this.loading) {
      // A reload asked for meanwhile (a new filter, a new run) follows this load rather than being lost.
      if (fresh) this.reloadAfter = true;
      return;
    }
    this.loading = true;
    this.grid.setAttribute('aria-busy', 'true');
    try {
      if (fresh) {
        // As many runs as are shown, a page at a time: one request for all of them could exceed the query's complexity limit.
        const shown = Math.max(PAGE_SIZE, this.runs.length);
        const status = this.status;
        let page = await listRuns(status, PAGE_SIZE, null);
        const runs = [...page.runs];
        while (page.hasNextPage && runs.length < shown) {
          page = await listRuns(status, PAGE_SIZE, page.endCursor);
          // A run started meanwhile pushes the older ones a page on: each once.
          runs.push(...page.runs.filter((run) => !runs.some((r) => r.id === run.id)));
        }
        this.runs = runs;
        this.endCursor = page.endCursor;
        this.hasNextPage = page.hasNextPage;
      } else {
        const page = await listRuns(this.status, PAGE_SIZE, this.endCursor);
        this.runs = [...this.runs, ...page.runs.filter((run) => !this.runs.some((r) => r.id === run.id))];
        this.endCursor = page.endCursor;
        this.hasNextPage = page.hasNextPage;
      }
      this.note.textContent = '';
    } catch (error) {
      this.note.textContent = `Could not load runs: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.loading = false;
      this.grid.setAttribute('aria-busy', 'false');
    }
    this.render();
    if (this.reloadAfter) {
      this.reloadAfter = false;
      void this.load(true);
    }
  }

  private render(): void {
    // Cards are rebuilt at every refresh and event: the keyboard's place among them is kept.
    keepFocus(this.grid, () => {
      clear(this.grid);
      for (const run of this.runs) this.grid.append(this.card(run));
    });
    if (this.runs.length === 0 && !this.note.textContent) {
      this.note.textContent = this.status ? `No ${STATUS_LABELS[this.status].toLowerCase()} runs.` : 'No runs yet: start one above.';
    } else if (this.runs.length > 0 && !this.note.textContent?.startsWith('Could not')) {
      this.note.textContent = '';
    }
    this.more.hidden = !this.hasNextPage;
    this.select(this.selectedId);

    const seen = new Set<string>();
    const images: Image[] = [];
    for (const run of this.runs) {
      for (const image of [run.contentImage, ...run.styleImages]) {
        if (!seen.has(image.id)) {
          seen.add(image.id);
          images.push(image);
        }
      }
    }
    this.actions.images(images);

    // Runs still going: keep their cards fresh without a subscription each.
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.runs.some((run) => !FINISHED.has(run.status))) {
      this.refreshTimer = window.setTimeout(() => void this.reload(), 5000);
    }
  }

  private card(run: Run): HTMLLIElement {
    // The picture so far where there is no result yet (or never will be: a canceled run).
    // Of a video result, the latest painted frame (a card shows a picture, not a player); a video content shows its first frame.
    const image = stillOf(run.resultImage, run.latestEpoch?.preview) ?? run.contentImage;
    const p = run.params;
    const open = () => this.actions.open(run);
    return h('li', { class: 'run-card', 'data-run-id': run.id, 'data-status': run.status },
      // Named by its text (no aria-label), so that the visible progress is part of the name.
      h('button', { type: 'button', class: 'run-card-image', onclick: open, 'data-focus-key': `image-${run.id}` },
        apiPicture(image, {
          alt: '', loading: 'lazy', width: image.width, height: image.height,
          class: `${image === run.contentImage ? 'pending' : 'result'}${image.width < 64 ? ' small' : ''}`,
        }),
        h('span', { class: 'visually-hidden' }, `Open run ${run.id.slice(0, 8)}, ${STATUS_LABELS[run.status]}`),
        run.resultImage ? null : h('span', { class: 'run-card-progress' }, `epoch ${run.currentEpoch} / ${run.totalEpochs}`)),
      h('div', { class: 'run-card-body' },
        h('div', { class: 'run-card-top' },
          statusBadge(run.status),
          h('time', { datetime: run.createdAt }, formatDate(run.createdAt))),
        h('p', { class: 'run-card-params' }, cardParams(run)),
        h('div', { class: 'run-card-thumbs', 'aria-hidden': 'true' },
          ...[run.contentImage, ...run.styleImages].slice(0, 4).map((img) => apiPicture(img, { alt: '', width: 28, height: 28, loading: 'lazy' }))),
        h('div', { class: 'run-card-actions' },
          h('button', { type: 'button', class: 'link-button', onclick: open, 'data-focus-key': `open-${run.id}` }, 'Open'),
          h('button', {
            type: 'button', class: 'link-button', onclick: () => this.actions.clone(run), 'aria-label': `Clone run ${run.id.slice(0, 8)} with changes`, 'data-focus-key': `clone-${run.id}`,
          }, 'Clone')),
        this.actions.compareControls(run)));
  }
}
