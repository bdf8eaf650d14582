/**
 * Starting a run: a content image and one or more style images (uploaded
 * here or picked from those already uploaded), the main parameters, start.
 * Errors from the API appear next to the field they name.
 */
import { ApiError, estimateRun, isFastMode, RUN_MODES, startRun, UNUSED_IN_MODE, uploadImage, type Image, type Preset, type Run, type RunEstimate, type RunMode, type RunParams, type ServiceLimits, type StartRunInput } from './api';
import { apiImage, apiPicture, clear, formatDuration, h, imageName, keepFocus, MODE_LABELS, uid } from './dom';

/**
 * The settings a run's speed depends on that the form opens on: a good
 * picture in about a minute on a 2-core CPU server (256 px, 40 L-BFGS steps:
 * 64 s there; L-BFGS reaches in 60 steps the loss of some 300 Adam steps,
 * npm run bench -- --only optimizers), where the API's defaults (the
 * tutorial's 512 px x 1000 Adam steps) take hours. Offered again when a run
 * would be long.
 */
const QUICK = { optimizer: 'LBFGS', learningRate: null, maxDim: 256, epochs: 4, stepsPerEpoch: 10, multiscale: 1 } as const satisfies Partial<RunParams>;

export const DEFAULTS: RunParams = {
  ...QUICK,
  contentWeight: 1e4,
  styleWeight: 1e-2,
  totalVariationWeight: 30,
  init: 'CONTENT',
  seed: 0,
  preserveColors: false,
  styleBlend: null,
  mode: 'OPTIMIZE',
  preset: null,
};

const MODE_HINTS: Record<RunMode, string> = {
  OPTIMIZE: 'Gatys et al.: any painting you give it; a minute or more',
  FAST: 'One pass through a network trained on a painting: seconds',
  FAST_THEN_OPTIMIZE: 'Optimizes onward from the network\u2019s picture',
};


interface NumberField {
  name: keyof RunParams;
  label: string;
  hint: string;
  min?: number;
  max?: number;
  step: string;
  integer?: boolean;
  /** May be left empty: the server's default then (sent as null). */
  optional?: boolean;
}

/** Runs longer than this are flagged, with a quicker setting offered. */
const LONG_RUN_SECONDS = 600;

const MAIN_FIELDS: NumberField[] = [
  { name: 'maxDim', label: 'Size (px)', hint: 'Longer side of the result', min: 16, max: 8192, step: '1', integer: true },
  { name: 'epochs', label: 'Epochs', hint: 'A preview after each', min: 1, max: 100000, step: '1', integer: true },
  { name: 'stepsPerEpoch', label: 'Steps per epoch', hint: 'Optimizer steps', min: 1, step: '1', integer: true },
  { name: 'seed', label: 'Seed', hint: 'Repeatable noise', min: 0, max: 4294967295, step: '1', integer: true },
  { name: 'contentWeight', label: 'Content weight', hint: 'Keep the subject', min: 0, step: 'any' },
  { name: 'styleWeight', label: 'Style weight', hint: 'Take on the style', min: 0, step: 'any' },
  { name: 'totalVariationWeight', label: 'TV weight', hint: 'Smoothness', min: 0, step: 'any' },
];

const ADVANCED_FIELDS: NumberField[] = [
  { name: 'learningRate', label: 'Learning rate', hint: 'Empty: 0.02 for Adam, 1 for L-BFGS', min: 0, step: 'any', optional: true },
  { name: 'multiscale', label: 'Scales', hint: '1 = off; each doubles', min: 1, max: 8, step: '1', integer: true },
];

/** Where an API error's field (`styleImageIds[1]`, `input.epochs`, ...) is shown. */
function fieldKey(field: string): string {
  return field.replace(/^input\./, '').replace(/\[\d+\]$/, '').replace(/\.\d+$/, '');
}

/** What every server takes (serviceInfo.acceptedTypes adds videos where it has ffmpeg); a style image is one of these. */
const STILL_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const SHRUNK_TYPES = new Set(['image/png', 'image/jpeg']);

/**
 * A file the server would refuse for its size is shrunk in the browser first
 * (the result is at most a few thousand pixels anyway); others go as they are.
 */
async function fitWithinLimits(file: File, limits: ServiceLimits): Promise<Blob> {
  // Only PNG and JPEG: a canvas would keep one frame of a GIF, a WebP (either may move) or a video.
  if (!SHRUNK_TYPES.has(file.type)) return file;
  if (file.size < 2 * 1024 * 1024 && file.size <= limits.maxImageBytes) return file;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return file; // the server says what is wrong with it
  }
  const pixels = bitmap.width * bitmap.height;
  if (pixels <= limits.maxImagePixels && file.size <= limits.maxImageBytes) return file;
  const scale = Math.min(1, Math.sqrt(Math.min(limits.maxImagePixels, 16_000_000) / pixels), 4096 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob ?? file), 'image/jpeg', 0.92));
}

function randomKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Slot {
  image?: Image;
  /** While uploading: the local preview and file name. */
  pending?: { src: string; name: string };
}

export class RunForm {
  readonly element: HTMLFormElement;
  private content: Slot = {};
  private styles: Slot[] = [];
  private recent: Image[] = [];
  private presets: Preset[] = [];
  private mode: RunMode = 'OPTIMIZE';
  private preset: string | null = null;
  private cloneOf: Run | undefined;
  private readonly inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  /** Each parameter's field (label, control, hint, error), to hide where the mode has no use for it. */
  private readonly fieldBoxes = new Map<string, HTMLElement>();
  private readonly modeGroup: HTMLFieldSetElement;
  private readonly presetGroup: HTMLFieldSetElement;
  private readonly presetList: HTMLDivElement;
  private readonly styleGroup: HTMLFieldSetElement;
  private readonly errors = new Map<string, HTMLElement>();
  private readonly contentBox: HTMLDivElement;
  private readonly stylesBox: HTMLDivElement;
  private readonly recentContent: HTMLDivElement;
  private readonly recentStyles: HTMLDivElement;
  private readonly cloneBanner: HTMLDivElement;
  private readonly submitButton: HTMLButtonElement;
  private readonly formError: HTMLParagraphElement;
  /** What the run would take (estimateRun), kept up to date as the form changes. */
  private readonly estimate: HTMLDivElement;
  private estimateTimer: ReturnType<typeof setTimeout> | undefined;
  /** Answers to older forms are dropped. */
  private estimateGeneration = 0;
  private readonly contentFile: HTMLInputElement;
  private readonly styleFile: HTMLInputElement;
  private idempotencyKey = randomKey();
  private limits: ServiceLimits = { maxImageBytes: 16 * 1024 * 1024, maxImagePixels: 25_000_000, maxDim: 2048, maxTotalSteps: 10_000, maxStyleImages: 8 };
  /** Until the server says: the still types every server takes. */
  private acceptedTypes = STILL_TYPES;
  private uploads = 0;

  constructor(private readonly onStarted: (run: Run) => void) {
    const contentFileId = uid('content-file');
    const styleFileId = uid('style-file');
    this.contentFile = h('input', { id: contentFileId, type: 'file', accept: STILL_TYPES.join(','), class: 'file-input', name: 'contentFile', 'aria-describedby': 'content-error' });
    this.styleFile = h('input', { id: styleFileId, type: 'file', accept: STILL_TYPES.join(','), multiple: true, class: 'file-input', name: 'styleFiles', 'aria-describedby': 'style-error' });
    this.contentFile.addEventListener('change', () => {
      const file = this.contentFile.files?.[0];
      if (file) void this.upload(file, 'content');
      this.contentFile.value = '';
    });
    this.styleFile.addEventListener('change', () => {
      for (const file of Array.from(this.styleFile.files ?? [])) void this.upload(file, 'style');
      this.styleFile.value = '';
    });

    this.contentBox = h('div', { class: 'slots', 'aria-live': 'polite' });
    this.stylesBox = h('div', { class: 'slots', 'aria-live': 'polite' });
    this.recentContent = h('div', { class: 'recent', role: 'group', 'aria-label': 'Uploaded images to use as content' });
    this.recentStyles = h('div', { class: 'recent', role: 'group', 'aria-label': 'Uploaded images to use as styles' });
    this.cloneBanner = h('div', { class: 'clone-banner', hidden: true });
    this.formError = h('p', { class: 'form-error', role: 'alert' });
    this.submitButton = h('button', { type: 'submit', class: 'button button-primary button-wide' }, 'Start run');
    this.estimate = h('div', { class: 'estimate', id: 'run-estimate', 'aria-live': 'polite' });
    this.submitButton.setAttribute('aria-describedby', 'run-estimate');

    const contentError = h('p', { class: 'field-error', id: 'content-error', 'aria-live': 'polite' });
    const styleError = h('p', { class: 'field-error', id: 'style-error', 'aria-live': 'polite' });
    this.errors.set('contentImageId', contentError);
    this.errors.set('styleImageIds', styleError);
    const presetError = h('p', { class: 'field-error', id: 'preset-error', 'aria-live': 'polite' });
    this.errors.set('preset', presetError);

    const modeName = uid('mode');
    this.modeGroup = h('fieldset', { class: 'group mode-group', hidden: true },
      h('legend', {}, 'How to paint'),
      h('div', { class: 'mode-options' }, ...RUN_MODES.map((mode) => {
        const id = uid(`mode-${mode.toLowerCase()}`);
        const radio = h('input', { type: 'radio', name: modeName, id, value: mode, 'aria-labelledby': `${id}-name`, 'aria-describedby': `${id}-hint` });
        radio.addEventListener('change', () => this.chooseMode(mode));
        // The whole label is the tap target; the name is the mode's, the hint its description.
        return h('div', { class: 'mode-option' }, radio,
          h('label', { for: id },
            h('strong', { id: `${id}-name` }, MODE_LABELS[mode]),
            h('span', { class: 'field-hint', id: `${id}-hint` }, MODE_HINTS[mode])));
      })));
    this.presetList = h('div', { class: 'preset-list' });
    this.presetGroup = h('fieldset', { class: 'group preset-group', hidden: true, 'aria-describedby': 'preset-error' },
      h('legend', {}, 'Painting'),
      this.presetList,
      presetError);
    this.fieldBoxes.set('preset', this.presetGroup);

    this.element = h('form', { class: 'run-form', novalidate: true, 'aria-labelledby': 'form-title' },
      h('h2', { id: 'form-title', class: 'panel-title' }, 'New run'),
      this.cloneBanner,
      this.modeGroup,
      h('fieldset', { class: 'group' },
        h('legend', {}, 'Content image'),
        this.contentBox,
        h('label', { for: contentFileId, class: 'button button-upload' }, 'Upload content image'),
        this.contentFile,
        this.recentContent,
        contentError),
      this.presetGroup,
      this.styleGroup = h('fieldset', { class: 'group' },
        h('legend', {}, 'Style images'),
        this.stylesBox,
        h('label', { for: styleFileId, class: 'button button-upload' }, 'Upload style images'),
        this.styleFile,
        this.recentStyles,
        styleError),
      h('fieldset', { class: 'group' },
        h('legend', {}, 'Parameters'),
        h('div', { class: 'field-grid' },
          this.selectField('optimizer', 'Optimizer', [['ADAM', 'Adam (the tutorial)'], ['LBFGS', 'L-BFGS (fewer steps)']]),
          ...MAIN_FIELDS.map((field) => this.numberField(field))),
        this.checkbox('preserveColors', 'Keep the content\u2019s colors'),
        h('details', { class: 'advanced' },
          h('summary', {}, 'More settings'),
          h('div', { class: 'field-grid' },
            ...ADVANCED_FIELDS.map((field) => this.numberField(field)),
            this.selectField('init', 'Start from', [['CONTENT', 'Content image'], ['NOISE', 'Noise'], ['STYLE', 'Style image']]),
            this.textField('styleBlend', 'Style blend', 'Weights, e.g. 0.7, 0.3')))),
      this.formError,
      this.submitButton,
      this.estimate);
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.element.addEventListener('input', (event) => {
      const name = (event.target as HTMLInputElement).name;
      if (name) this.showError(name, '');
      this.idempotencyKey = randomKey();
      this.scheduleEstimate();
    });
    this.element.addEventListener('change', (event) => {
      // The learning rate belongs to the optimizer: switching it takes the new one's default.
      if ((event.target as HTMLSelectElement).name === 'optimizer') (this.inputs.get('learningRate') as HTMLInputElement).value = '';
      this.scheduleEstimate();
    });
    this.fieldBoxes.set('styleImageIds', this.styleGroup);
    this.setValues(DEFAULTS);
    this.renderSlots();
  }

  /**
   * The fast-style networks of the server, offered as paintings to choose in
   * the fast modes; with none, the form offers only the optimization.
   */
  setPresets(presets: Preset[]): void {
    this.presets = presets;
    this.modeGroup.hidden = presets.length === 0;
    this.renderPresets();
    this.renderRecent();
  }

  private chooseMode(mode: RunMode): void {
    this.mode = mode;
    if (isFastMode(mode) && !this.presets.some((p) => p.name === this.preset)) this.preset = this.presets[0]?.name ?? null;
    this.showError('preset', '');
    this.applyMode();
    this.idempotencyKey = randomKey();
    this.scheduleEstimate();
  }

  /** Shows the fields the chosen mode uses, and checks its radio and its preset's. */
  private applyMode(): void {
    for (const radio of this.modeGroup.querySelectorAll<HTMLInputElement>('input[type=radio]')) radio.checked = radio.value === this.mode;
    for (const radio of this.presetList.querySelectorAll<HTMLInputElement>('input[type=radio]')) radio.checked = radio.value === this.preset;
    const unused = UNUSED_IN_MODE[this.mode];
    for (const [name, box] of this.fieldBoxes) box.hidden = unused.has(name);
  }

  private renderPresets(): void {
    const name = uid('preset');
    keepFocus(this.presetList, () => {
      clear(this.presetList);
      for (const preset of this.presets) {
        const id = uid(`preset-${preset.name}`);
        const radio = h('input', { type: 'radio', name, id, value: preset.name, class: 'preset-radio', 'data-focus-key': preset.name });
        radio.addEventListener('change', () => {
          this.preset = preset.name;
          this.showError('preset', '');
          this.idempotencyKey = randomKey();
          this.scheduleEstimate();
        });
        this.presetList.append(h('div', { class: 'preset-option' }, radio,
          h('label', { for: id, class: 'preset-card' },
            preset.painting ? apiImage(preset.painting.url, { alt: '', width: 96, height: 72, loading: 'lazy' }) : h('span', { class: 'preset-blank' }),
            h('span', { class: 'preset-title' }, preset.title),
            preset.artist ? h('span', { class: 'preset-artist' }, preset.artist) : null)));
      }
    });
    this.applyMode();
  }

  /** The server's limits and accepted types: checked here first, so the form says at once what it would refuse. */
  setServiceInfo({ limits, acceptedTypes }: { limits: ServiceLimits; acceptedTypes: string[] }): void {
    this.limits = limits;
    this.acceptedTypes = acceptedTypes;
    // Animations and videos are painted only as the content.
    this.contentFile.accept = acceptedTypes.join(',');
    const maxDim = this.inputs.get('maxDim') as HTMLInputElement;
    maxDim.max = String(limits.maxDim);
    const hint = document.getElementById(`${maxDim.id}-hint`);
    if (hint) hint.textContent = `Longer side of the result, up to ${limits.maxDim}`;
  }

  /** Images uploaded before (from earlier runs), offered for reuse. */
  setRecentImages(images: Image[]): void {
    this.recent = images;
    this.renderRecent();
  }

  /** Fills the form from an earlier run, to start a changed copy of it. */
  cloneFrom(run: Run): void {
    this.cloneOf = run;
    this.content = { image: run.contentImage };
    this.styles = run.styleImages.map((image) => ({ image }));
    this.setValues({ ...DEFAULTS, ...run.params });
    this.idempotencyKey = randomKey();
    clear(this.cloneBanner);
    this.cloneBanner.append(
      h('span', {}, 'Copy of run ', h('code', {}, run.id.slice(0, 8)), ': change what you like and start.'),
      h('button', { type: 'button', class: 'link-button', onclick: () => this.reset() }, 'Start afresh'));
    this.cloneBanner.hidden = false;
    this.clearErrors();
    this.renderSlots();
    this.element.scrollIntoView({ behavior: 'smooth', block: 'start' });
    // The likely change: the epochs, or the size where the mode has no epochs (FAST).
    const next = ['epochs', 'maxDim'].find((name) => !this.fieldBoxes.get(name)!.hidden)!;
    this.inputs.get(next)!.focus({ preventScroll: true });
  }

  reset(): void {
    this.cloneOf = undefined;
    this.cloneBanner.hidden = true;
    this.content = {};
    this.styles = [];
    this.setValues(DEFAULTS);
    this.clearErrors();
    this.renderSlots();
  }

  /** Asks the server what the form's run would take, a moment after the last change. */
  private scheduleEstimate(): void {
    clearTimeout(this.estimateTimer);
    this.estimateTimer = setTimeout(() => void this.refreshEstimate(), 300);
  }

  private async refreshEstimate(): Promise<void> {
    const generation = ++this.estimateGeneration;
    const input = this.read(false);
    if (!input) {
      clear(this.estimate);
      if (!this.content.image || !this.styles.some((s) => s.image)) this.estimate.append(h('p', { class: 'estimate-text' }, 'Choose the images to see how long the run takes here.'));
      return;
    }
    let estimate: RunEstimate;
    try {
      const { idempotencyKey: _key, ...withoutKey } = input;
      estimate = await estimateRun(withoutKey);
    } catch (error) {
      if (generation !== this.estimateGeneration) return;
      clear(this.estimate);
      // The same refusal startRun would give, shown at its field before Start.
      if (error instanceof ApiError && error.field) this.showError(error.field, error.message);
      return;
    }
    if (generation !== this.estimateGeneration) return;
    this.showEstimate(estimate);
  }

  private showEstimate(estimate: RunEstimate): void {
    clear(this.estimate);
    const gib = (estimate.peakMemoryBytes / 2 ** 30).toFixed(1);
    if (!estimate.fits) {
      this.estimate.className = 'estimate estimate-long';
      this.estimate.append(h('p', { class: 'estimate-text' },
        `Too large for this server's memory${estimate.largestMaxDim ? `: at most ${estimate.largestMaxDim} px with these images` : ''}.`));
      if (estimate.largestMaxDim) this.estimate.append(this.quickButton(`Use ${estimate.largestMaxDim} px`, { maxDim: estimate.largestMaxDim }));
      return;
    }
    const long = estimate.seconds !== null && estimate.seconds > LONG_RUN_SECONDS;
    this.estimate.className = `estimate${long ? ' estimate-long' : ''}`;
    const time = estimate.seconds === null ? 'No engine has measured its speed yet' : `About ${formatDuration(estimate.seconds * 1000)}`;
    this.estimate.append(h('p', { class: 'estimate-text' },
      `${time}${estimate.device ? ` on ${estimate.device}` : ''} · ${estimate.steps === 0 ? 'one pass' : `${estimate.steps} steps`} · ${gib} GiB`));
    if (long) {
      this.estimate.append(
        h('p', { class: 'estimate-text' }, 'That is a long run on this server.'),
        this.quickButton(`Use quick settings (L-BFGS, ${QUICK.maxDim} px, ${QUICK.epochs * QUICK.stepsPerEpoch} steps)`, QUICK));
    }
  }

  private quickButton(label: string, values: Partial<RunParams>): HTMLButtonElement {
    return h('button', {
      type: 'button', class: 'button', onclick: () => {
        this.setValues({ ...this.currentValues(), ...values });
        this.idempotencyKey = randomKey();
        this.scheduleEstimate();
      },
    }, label);
  }

  /** The values in the form now, as far as they read (for changing a few of them). */
  private currentValues(): RunParams {
    const values = { ...DEFAULTS } as Record<string, unknown>;
    for (const [name, input] of this.inputs) {
      if (input instanceof HTMLInputElement && input.type === 'checkbox') values[name] = input.checked;
      else if (input instanceof HTMLInputElement && input.type === 'number') values[name] = input.value.trim() === '' ? null : Number(input.value);
      else if (name !== 'styleBlend') values[name] = input.value;
    }
    values.mode = this.mode;
    values.preset = this.preset;
    return values as unknown as RunParams;
  }

  private setValues(params: RunParams): void {
    this.mode = params.mode;
    this.preset = params.preset;
    this.applyMode();
    for (const [name, input] of this.inputs) {
      const value = params[name as keyof RunParams];
      if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = Boolean(value);
      else if (name === 'styleBlend') input.value = Array.isArray(value) ? value.join(', ') : '';
      else input.value = value === null || value === undefined ? '' : String(value);
    }
  }

  private fieldShell(name: string, label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLDivElement {
    const id = control.id;
    const error = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
    const hintEl = hint ? h('span', { class: 'field-hint', id: `${id}-hint` }, hint) : null;
    control.setAttribute('aria-describedby', [hintEl ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' '));
    this.inputs.set(name, control);
    this.errors.set(name, error);
    const box = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, error);
    this.fieldBoxes.set(name, box);
    return box;
  }

  private numberField(field: NumberField): HTMLDivElement {
    const input = h('input', {
      id: uid(`field-${field.name}`), name: field.name, type: 'number', inputmode: field.integer ? 'numeric' : 'decimal',
      min: field.min, max: field.max, step: field.step, required: true,
    });
    return this.fieldShell(field.name, field.label, input, field.hint);
  }

  private textField(name: string, label: string, hint: string): HTMLDivElement {
    const input = h('input', { id: uid(`field-${name}`), name, type: 'text', inputmode: 'decimal', autocomplete: 'off', placeholder: 'equal' });
    return this.fieldShell(name, label, input, hint);
  }

  private selectField(name: string, label: string, options: [string, string][]): HTMLDivElement {
    const select = h('select', { id: uid(`field-${name}`), name }, ...options.map(([value, text]) => h('option', { value }, text)));
    return this.fieldShell(name, label, select);
  }

  private checkbox(name: string, label: string): HTMLDivElement {
    const input = h('input', { id: uid(`field-${name}`), name, type: 'checkbox' });
    this.inputs.set(name, input);
    const box = h('div', { class: 'field field-check' }, input, h('label', { for: input.id }, label));
    this.fieldBoxes.set(name, box);
    return box;
  }

  private async upload(file: File, role: 'content' | 'style'): Promise<void> {
    const errorKey = role === 'content' ? 'contentImageId' : 'styleImageIds';
    this.showError(errorKey, '');
    // An unknown type (some systems give none) goes to the server, which reads the bytes.
    if (file.type && !this.acceptedTypes.includes(file.type)) {
      const kinds = this.acceptedTypes.some((type) => type.startsWith('video/')) ? 'a PNG, JPEG, WebP or GIF image, or an MP4 or WebM video' : 'a PNG, JPEG, WebP or GIF image';
      this.showError(errorKey, `${file.name} is not ${kinds}.`);
      return;
    }
    const slot: Slot = { pending: { src: URL.createObjectURL(file), name: file.name } };
    if (role === 'content') this.content = slot;
    else this.styles.push(slot);
    this.uploads += 1;
    this.renderSlots();
    try {
      slot.image = await uploadImage(await fitWithinLimits(file, this.limits), file.name);
      if (!this.recent.some((image) => image.id === slot.image!.id)) this.recent = [slot.image, ...this.recent];
    } catch (error) {
      if (role === 'content' && this.content === slot) this.content = {};
      this.styles = this.styles.filter((s) => s !== slot);
      this.showError(errorKey, `${file.name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (slot.pending) URL.revokeObjectURL(slot.pending.src);
      slot.pending = undefined;
      this.uploads -= 1;
      this.renderSlots();
      this.renderRecent();
    }
  }

  private slotView(slot: Slot, label: string, onRemove: () => void): HTMLElement {
    const attrs = { alt: label, width: 96, height: 96 };
    const name = slot.pending?.name ?? (slot.image ? imageName(slot.image) : '');
    return h('figure', { class: `slot${slot.pending ? ' slot-pending' : ''}` },
      slot.image ? apiPicture(slot.image, attrs) : h('img', { ...attrs, src: slot.pending?.src ?? '' }),
      slot.pending ? h('span', { class: 'slot-status' }, 'Uploading…') : h('figcaption', { class: 'slot-name', title: name }, name),
      h('button', { type: 'button', class: 'slot-remove', 'aria-label': `Remove ${label}`, onclick: onRemove }, '×'));
  }

  private renderSlots(): void {
    clear(this.contentBox);
    if (this.content.image || this.content.pending) {
      this.contentBox.append(this.slotView(this.content, 'content image', () => {
        this.content = {};
        this.renderSlots();
        // The removed image's button is gone: the keyboard continues at the upload.
        this.contentFile.focus();
      }));
    } else {
      this.contentBox.append(h('p', { class: 'slot-empty' }, 'No content image yet.'));
    }
    clear(this.stylesBox);
    if (this.styles.length === 0) this.stylesBox.append(h('p', { class: 'slot-empty' }, 'No style image yet.'));
    this.styles.forEach((slot, i) => {
      this.stylesBox.append(this.slotView(slot, `style image ${i + 1}`, () => {
        this.styles = this.styles.filter((s) => s !== slot);
        this.renderSlots();
        this.styleFile.focus();
      }));
    });
    this.submitButton.disabled = this.uploads > 0;
    this.submitButton.textContent = this.uploads > 0 ? 'Uploading…' : 'Start run';
    this.renderRecent();
    this.scheduleEstimate();
  }

  private renderRecent(): void {
    // The presets' paintings are chosen as presets, not offered as images uploaded before.
    const paintings = new Set(this.presets.flatMap((preset) => (preset.painting ? [preset.painting.id] : [])));
    const images = this.recent.filter((image) => !paintings.has(image.id)).slice(0, 12);
    const make = (box: HTMLElement, role: 'content' | 'style') => keepFocus(box, () => {
      clear(box);
      if (images.length === 0) return;
      box.append(h('span', { class: 'recent-label' }, 'or pick one uploaded before:'));
      const list = h('div', { class: 'recent-list' });
      for (const image of images) {
        const selected = role === 'content' ? this.content.image?.id === image.id : this.styles.some((s) => s.image?.id === image.id);
        list.append(h('button', {
          type: 'button', class: 'recent-item', 'aria-pressed': String(selected), 'data-focus-key': image.id,
          'aria-label': `Use ${imageName(image)} (${image.width}×${image.height}) as ${role}`,
          title: imageName(image),
          onclick: () => {
            if (role === 'content') this.content = selected ? {} : { image };
            else if (selected) this.styles = this.styles.filter((s) => s.image?.id !== image.id);
            else this.styles.push({ image });
            this.showError(role === 'content' ? 'contentImageId' : 'styleImageIds', '');
            this.renderSlots();
          },
        }, apiPicture(image, { alt: '', width: 48, height: 48, loading: 'lazy' })));
      }
      box.append(list);
    });
    make(this.recentContent, 'content');
    make(this.recentStyles, 'style');
  }

  private showError(name: string, message: string): void {
    const key = this.errors.has(name) ? name : fieldKey(name);
    const error = this.errors.get(key);
    const input = this.inputs.get(key);
    if (error) error.textContent = message;
    if (input) {
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    if (!error && message) this.formError.textContent = message;
  }

  private clearErrors(): void {
    for (const name of this.errors.keys()) this.showError(name, '');
    this.formError.textContent = '';
  }

  /** Reads the form; with `showErrors`, shows what is missing or malformed. Undefined when something is. */
  private read(showErrors: boolean): StartRunInput | undefined {
    if (showErrors) this.clearErrors();
    let ok = true;
    const fail = (name: string, message: string) => {
      if (showErrors) this.showError(name, message);
      ok = false;
    };
    const unused = UNUSED_IN_MODE[this.mode];
    if (!this.content.image) fail('contentImageId', 'Choose a content image.');
    if (!unused.has('styleImageIds') && !this.styles.some((s) => s.image)) fail('styleImageIds', 'Choose at least one style image.');
    if (isFastMode(this.mode) && !this.preset) fail('preset', 'Choose a painting.');
    const params: Partial<RunParams> = { mode: this.mode, preset: isFastMode(this.mode) ? this.preset : null };
    for (const field of [...MAIN_FIELDS, ...ADVANCED_FIELDS]) {
      if (unused.has(field.name)) continue;
      const input = this.inputs.get(field.name) as HTMLInputElement;
      if (field.optional && input.value.trim() === '') {
        (params as Record<string, null>)[field.name] = null;
        continue;
      }
      const value = input.value.trim() === '' ? NaN : Number(input.value);
      if (!Number.isFinite(value)) fail(field.name, 'Enter a number.');
      else if (field.integer && !Number.isInteger(value)) fail(field.name, 'Enter a whole number.');
      else if (field.min !== undefined && value < field.min) fail(field.name, `At least ${field.min}.`);
      else if (field.max !== undefined && value > field.max) fail(field.name, `At most ${field.max}.`);
      else (params as Record<string, number>)[field.name] = value;
    }
    if (params.maxDim !== undefined && params.maxDim > this.limits.maxDim) fail('maxDim', `At most ${this.limits.maxDim} on this server.`);
    if (params.epochs !== undefined && params.stepsPerEpoch !== undefined && params.epochs * params.stepsPerEpoch > this.limits.maxTotalSteps) {
      fail('epochs', `Epochs × steps is ${params.epochs * params.stepsPerEpoch}; this server allows ${this.limits.maxTotalSteps}.`);
    }
    params.preserveColors = (this.inputs.get('preserveColors') as HTMLInputElement).checked;
    if (!unused.has('init')) params.init = this.inputs.get('init')!.value;
    if (!unused.has('optimizer')) params.optimizer = this.inputs.get('optimizer')!.value;
    const blend = unused.has('styleBlend') ? '' : this.inputs.get('styleBlend')!.value.trim();
    const styleImageIds = this.styles.flatMap((s) => (s.image ? [s.image.id] : []));
    if (blend) {
      const weights = blend.split(/[\s,;]+/).filter(Boolean).map(Number);
      if (weights.some((w) => !Number.isFinite(w) || w < 0)) fail('styleBlend', 'Non-negative numbers, separated by commas.');
      else if (weights.length !== styleImageIds.length) fail('styleBlend', `One weight per style image (${styleImageIds.length}).`);
      else params.styleBlend = weights;
    } else {
      params.styleBlend = null;
    }
    if (!ok) return undefined;
    return {
      ...(this.cloneOf ? { cloneOf: this.cloneOf.id } : {}),
      contentImageId: this.content.image!.id,
      // The fast modes' style is the preset's painting: the server refuses style images there.
      ...(unused.has('styleImageIds') ? {} : { styleImageIds }),
      ...params,
      idempotencyKey: this.idempotencyKey,
    };
  }

  private async submit(): Promise<void> {
    const input = this.read(true);
    if (!input) {
      this.element.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    this.submitButton.disabled = true;
    this.submitButton.textContent = 'Starting…';
    try {
      const run = await startRun(input);
      this.idempotencyKey = randomKey();
      this.cloneOf = undefined;
      this.cloneBanner.hidden = true;
      this.onStarted(run);
    } catch (error) {
      if (error instanceof ApiError && error.field) this.showError(error.field, error.message);
      else this.formError.textContent = error instanceof Error ? error.message : String(error);
      const invalid = error instanceof ApiError && error.field ? this.inputs.get(fieldKey(error.field)) : undefined;
      invalid?.focus();
    } finally {
      this.submitButton.disabled = false;
      this.submitButton.textContent = 'Start run';
    }
  }
}
