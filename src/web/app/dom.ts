/** A few helpers for building the page without a framework. */
import { isVideo, showImage, type Image } from './api';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('button', { class: 'x', onclick: fn }, 'Go')`: attributes, `on*` listeners, children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

/** An <img> showing an image of the API (see showImage). */
export function apiImage(url: string, attrs: Attrs = {}): HTMLImageElement {
  const img = h('img', attrs);
  showImage(img, url);
  return img;
}

/**
 * An image of the API as a small picture: an img, or for a video a silent
 * video element that shows its first frame (an img cannot show a video).
 */
export function apiPicture(image: Image, attrs: Attrs = {}): HTMLImageElement | HTMLVideoElement {
  if (!isVideo(image)) return apiImage(image.url, attrs);
  const { alt, loading: _lazy, ...rest } = attrs;
  const video = h('video', { ...rest, muted: true, playsinline: true, preload: 'metadata', ...(alt ? { 'aria-label': String(alt) } : { 'aria-hidden': 'true' }) });
  video.muted = true;
  showImage(video, image.url);
  return video;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function clear(element: Element): void {
  element.replaceChildren();
}

/**
 * Rebuilds part of the page without losing the keyboard user's place: when
 * focus was on an element of `container` marked `data-focus-key`, the new
 * element with the same key gets it back (else it would fall to <body>);
 * with none such, `fallback` does.
 */
export function keepFocus(container: Element, rebuild: () => void, fallback?: HTMLElement): void {
  const focused = document.activeElement;
  const key = focused instanceof HTMLElement && container.contains(focused) ? focused.dataset.focusKey : undefined;
  rebuild();
  if (key === undefined) return;
  const again = [...container.querySelectorAll<HTMLElement>('[data-focus-key]')].find((element) => element.dataset.focusKey === key);
  (again ?? fallback)?.focus({ preventScroll: true });
}

let idCounter = 0;
/** A unique element id, for labels and aria references. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** 1234 ms -> "1.2 s", 75_000 -> "1 min 15 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Losses span many orders of magnitude: 3 significant digits, exponent when large or small. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value !== 0 && (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

/** What to call an image: the name of the file it was uploaded from, else its short id. */
export function imageName(image: Image): string {
  return image.fileName ?? `image ${image.id.slice(0, 8)}`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export const STATUS_LABELS: Record<string, string> = {
  QUEUED: 'Queued',
  RUNNING: 'Running',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
};

export const MODE_LABELS: Record<string, string> = {
  OPTIMIZE: 'Optimize',
  FAST: 'Fast',
  FAST_THEN_OPTIMIZE: 'Fast, then optimize',
};

export function statusBadge(status: string): HTMLSpanElement {
  return h('span', { class: `badge badge-${status.toLowerCase()}` }, STATUS_LABELS[status] ?? status);
}
