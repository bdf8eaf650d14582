/**
 * The loss curves of a run: total, content, style and total variation per
 * epoch, and the temporal term in a run over frames that has one; log scale (uPlot).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RunEpoch } from './api';
import { formatNumber, h } from './dom';

const SERIES = [
  { key: 'totalLoss', label: 'Total', stroke: '#111827' },
  { key: 'contentLoss', label: 'Content', stroke: '#2563eb' },
  { key: 'styleLoss', label: 'Style', stroke: '#db2777' },
  { key: 'totalVariationLoss', label: 'TV', stroke: '#d97706' },
  { key: 'temporalLoss', label: 'Temporal', stroke: '#059669' },
] as const;

type Series = (typeof SERIES)[number];

const SUPERSCRIPT: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** Axis labels at powers of ten: 0.01, 1, 100, 1000, then 10⁴, 10⁵, ... */
function powerOfTen(value: number): string {
  const exponent = Math.round(Math.log10(value));
  if (exponent >= -2 && exponent <= 3) return String(10 ** exponent);
  return `10${String(exponent).split('').map((c) => SUPERSCRIPT[c]).join('')}`;
}

function isPowerOfTen(value: number): boolean {
  return value > 0 && Math.abs(Math.log10(value) - Math.round(Math.log10(value))) < 1e-9;
}

/** Log scales cannot show zero or negative values: those points are left out. */
function positive(value: number): number | null {
  return Number.isFinite(value) && value > 0 ? value : null;
}

export class LossChart {
  readonly element: HTMLElement;
  private readonly plotHost: HTMLDivElement;
  private readonly summary: HTMLParagraphElement;
  private plot: uPlot | undefined;
  private epochs: RunEpoch[] = [];
  private readonly resizeObserver: ResizeObserver;

  constructor() {
    this.plotHost = h('div', { class: 'chart-plot' });
    this.summary = h('p', { class: 'visually-hidden', 'aria-live': 'off' });
    // A figure named by its caption (a figure may not take the role group).
    this.element = h('figure', { class: 'chart' },
      this.plotHost,
      this.summary,
      h('figcaption', { class: 'chart-caption' }, 'Losses per epoch (log scale)'));
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.plotHost);
  }

  /** Number of points drawn (one per epoch), for tests and the summary. */
  get pointCount(): number {
    return this.epochs.length;
  }

  setEpochs(epochs: RunEpoch[]): void {
    this.epochs = [...epochs].sort((a, b) => a.epoch - b.epoch);
    this.redraw();
  }

  addEpoch(epoch: RunEpoch): void {
    if (this.epochs.some((e) => e.epoch === epoch.epoch)) return;
    this.epochs.push(epoch);
    this.epochs.sort((a, b) => a.epoch - b.epoch);
    this.redraw();
  }

  destroy(): void {
    this.resizeObserver.disconnect();
    this.plot?.destroy();
  }

  /** The curves drawn: the temporal one once an epoch has a temporal term (frames after the first of a run over frames). */
  private series(): readonly Series[] {
    const temporal = this.epochs.some((e) => e.temporalLoss > 0);
    return SERIES.filter((series) => temporal || series.key !== 'temporalLoss');
  }

  private data(series: readonly Series[]): uPlot.AlignedData {
    return [
      this.epochs.map((e) => e.epoch),
      ...series.map((curve) => this.epochs.map((e) => positive(e[curve.key]))),
    ];
  }

  private size(): { width: number; height: number } {
    const width = Math.max(200, Math.floor(this.plotHost.clientWidth || 320));
    // Taller than wide-screen proportions on a phone: the curves need room for several decades.
    return { width, height: Math.round(Math.min(280, Math.max(230, width * 0.4))) };
  }

  private redraw(): void {
    this.element.dataset.points = String(this.epochs.length);
    const last = this.epochs.at(-1);
    const series = this.series();
    this.summary.textContent = last
      ? `After epoch ${last.epoch}: ${series.map((curve) => `${curve.label} ${formatNumber(last[curve.key])}`).join(', ')}.`
      : 'No epochs yet.';
    if (this.epochs.length === 0) {
      this.plot?.destroy();
      this.plot = undefined;
      this.plotHost.replaceChildren(h('p', { class: 'chart-empty' }, 'The curves appear after the first epoch.'));
      return;
    }
    if (this.plot && this.plot.series.length !== series.length + 1) {
      // uPlot's series are fixed when it is made: a curve that appears (the temporal one) takes a new plot.
      this.plot.destroy();
      this.plot = undefined;
    }
    if (!this.plot) {
      this.plotHost.replaceChildren();
      this.plot = new uPlot(this.options(series), this.data(series), this.plotHost);
    } else {
      this.plot.setData(this.data(series));
    }
  }

  private showLatestInLegend(u: uPlot): void {
    if (u.cursor.idx === null || u.cursor.idx === undefined) {
      const last = u.data[0].length - 1;
      if (last >= 0) u.setLegend({ idx: last });
    }
  }

  private resize(): void {
    if (this.plot) this.plot.setSize(this.size());
  }

  private options(series: readonly Series[]): uPlot.Options {
    return {
      ...this.size(),
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { live: true },
      hooks: {
        // Away from the cursor, the legend shows the latest epoch's losses rather than blanks.
        setCursor: [(u) => this.showLatestInLegend(u)],
        setData: [(u) => this.showLatestInLegend(u)],
      },
      scales: {
        x: { time: false, range: (_u, min, max) => [Math.min(min, 1), Math.max(max, 2)] },
        y: { distr: 3, log: 10 },
      },
      axes: [
        { label: 'epoch', stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' },
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], values: (_u, splits) => splits.map((v) => String(v)) },
        { stroke: '#4b5563', size: 52,
          grid: { stroke: '#e5e7eb', filter: (_u, splits) => splits.map((v) => (isPowerOfTen(v) ? v : null)) },
          ticks: { stroke: '#d1d5db', size: 5, filter: (_u, splits) => splits.map((v) => (isPowerOfTen(v) ? v : null)) },
          // Only the decades: a log axis labelled at 2, 3, ... 9 as well is unreadable.
          filter: (_u, splits) => splits.map((v) => (isPowerOfTen(v) ? v : null)),
          values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : powerOfTen(v))) },
      ],
      series: [
        { label: 'epoch', value: (_u, v) => (v === null ? '–' : String(v)) },
        ...series.map((curve, i) => ({
          label: curve.label,
          stroke: curve.stroke,
          width: i === 0 ? 2.5 : 1.75,
          points: { show: true, size: 6, fill: curve.stroke },
          value: (_u: uPlot, v: number | null) => formatNumber(v),
        })),
      ],
    };
  }
}
