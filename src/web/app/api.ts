/**
 * The page's only way to the service: its public GraphQL API, over HTTP for
 * queries and mutations and over graphql-ws for live run events.
 */
import { createClient, type Client } from 'graphql-ws';

export type RunStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
export const RUN_STATUSES: RunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'];
export const FINISHED: ReadonlySet<RunStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export interface Image {
  id: string;
  url: string;
  width: number;
  height: number;
  mimeType: string;
  /** The name the file was uploaded under; null when none was given and for what a run made. */
  fileName: string | null;
}

/** An MP4 or WebM: shown by a video element, not an img. */
export function isVideo(image: Image): boolean {
  return image.mimeType.startsWith('video/');
}

/** The first of `images` an img can show (a video cannot be a thumbnail); null when none. */
export function stillOf(...images: (Image | null | undefined)[]): Image | null {
  return images.find((image): image is Image => !!image && !isVideo(image)) ?? null;
}

export interface RunEpoch {
  epoch: number;
  step: number;
  totalLoss: number;
  contentLoss: number;
  styleLoss: number;
  totalVariationLoss: number;
  /** The temporal coherence term of a run over frames (0 in the first frame, a still image, or without coherence). */
  temporalLoss: number;
  elapsedMs: number;
  preview: Image | null;
}

export interface RunParams {
  maxDim: number;
  epochs: number;
  stepsPerEpoch: number;
  contentWeight: number;
  styleWeight: number;
  totalVariationWeight: number;
  /** ADAM | LBFGS */
  optimizer: string;
  /** Null asks for the optimizer's default. */
  learningRate: number | null;
  /** CONTENT | NOISE | STYLE */
  init: string;
  seed: number;
  preserveColors: boolean;
  multiscale: number;
  styleBlend: number[] | null;
  mode: RunMode;
  /** The fast-style network of the fast modes; null in OPTIMIZE. */
  preset: string | null;
}

export type RunMode = 'OPTIMIZE' | 'FAST' | 'FAST_THEN_OPTIMIZE';
export const RUN_MODES: RunMode[] = ['OPTIMIZE', 'FAST', 'FAST_THEN_OPTIMIZE'];

/** Whether the mode starts from a fast-style network: its style is the preset's painting, not style images. */
export function isFastMode(mode: RunMode): boolean {
  return mode !== 'OPTIMIZE';
}

/**
 * The parameters (and inputs) a mode has no use for: the form hides them and
 * does not send them, the run view does not list them. A FAST run is one
 * pass, its weights only weigh the losses it reports; the fast modes' style
 * is the preset's one painting; FAST_THEN_OPTIMIZE starts from the network's
 * picture, not from `init`.
 */
export const UNUSED_IN_MODE: Record<RunMode, ReadonlySet<string>> = {
  OPTIMIZE: new Set(['preset']),
  FAST: new Set(['optimizer', 'epochs', 'stepsPerEpoch', 'seed', 'contentWeight', 'styleWeight', 'totalVariationWeight',
    'learningRate', 'multiscale', 'init', 'styleBlend', 'styleImageIds']),
  FAST_THEN_OPTIMIZE: new Set(['init', 'styleBlend', 'styleImageIds']),
};

/** A trained fast-style network (Query.presets). */
export interface Preset {
  name: string;
  title: string;
  artist: string | null;
  painting: Image | null;
}

export interface Run {
  id: string;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  contentImage: Image;
  styleImages: Image[];
  resultImage: Image | null;
  currentEpoch: number;
  totalEpochs: number;
  progress: number;
  queuePosition: number | null;
  error: string | null;
  backend: string | null;
  params: RunParams;
  /** The last finished epoch: its preview is the picture so far. */
  latestEpoch: LatestEpoch | null;
  /** The frames the run paints: more than 1 for an animation or a video. */
  totalFrames: number;
  currentFrame: number;
  /** Of a finished run over frames: how much they flicker along the content's motion where it did not change (0-255). */
  flicker: number | null;
}

/** A painted frame of a run over an animation or a video. */
export interface RunFrame {
  frame: number;
  delayMs: number;
  image: Image;
}

export type LatestEpoch = Pick<RunEpoch, 'epoch' | 'totalLoss' | 'preview'>;

export interface RunWithEpochs extends Run {
  epochs: RunEpoch[];
  frames: RunFrame[];
}

/** Where a running run stands within its epoch (a STEP event's). */
export interface RunStep {
  step: number;
  epoch: number;
  totalLoss: number;
  elapsedMs: number;
  stepsPerSecond: number;
}

export interface RunEvent {
  /** A STEP event carries the number of the event before it. */
  sequence: number;
  kind: 'STATUS' | 'EPOCH' | 'STEP' | 'FRAME';
  run: Run;
  epoch: RunEpoch | null;
  frame: RunFrame | null;
  step: RunStep | null;
}

export interface StartRunInput extends Partial<RunParams> {
  cloneOf?: string;
  /** Both may be left out with cloneOf: the clone keeps its run's images (in the fast modes, its network's painting). */
  contentImageId?: string;
  /** Left out in the fast modes. */
  styleImageIds?: string[];
  idempotencyKey?: string;
}

const IMAGE = 'id url width height mimeType fileName';
const PARAMS = 'params { maxDim epochs stepsPerEpoch contentWeight styleWeight totalVariationWeight optimizer learningRate init seed preserveColors multiscale styleBlend mode preset }';
const RUN = `id status createdAt startedAt finishedAt currentEpoch totalEpochs progress queuePosition error backend totalFrames currentFrame flicker
  contentImage { ${IMAGE} } styleImages { ${IMAGE} } resultImage { ${IMAGE} } ${PARAMS} latestEpoch { epoch totalLoss preview { ${IMAGE} } }`;
const EPOCH = `epoch step totalLoss contentLoss styleLoss totalVariationLoss temporalLoss elapsedMs preview { ${IMAGE} }`;
const STEP = 'step epoch totalLoss elapsedMs stepsPerSecond';
const FRAME = `frame delayMs image { ${IMAGE} }`;

const TOKEN_KEY = 'stylegraph.token';

/** The API token this browser keeps (a server with STYLEGRAPH_AUTH=required wants one); null when none. */
export function apiToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setApiToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

function authHeaders(): Record<string, string> {
  const token = apiToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Fired on window when the server refuses this browser's token (or its lack of one). */
export const UNAUTHENTICATED_EVENT = 'stylegraph:unauthenticated';

function refused(): void {
  window.dispatchEvent(new Event(UNAUTHENTICATED_EVENT));
}

const imageBlobs = new Map<string, Promise<string>>();

/** An API image's bytes, fetched with the token, as an object URL (cached). */
function imageObjectUrl(url: string): Promise<string> {
  let blob = imageBlobs.get(url);
  if (!blob) {
    blob = fetch(url, { headers: authHeaders() }).then(async (response) => {
      if (response.status === 401) refused();
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      return URL.createObjectURL(await response.blob());
    });
    imageBlobs.set(url, blob);
    blob.catch(() => imageBlobs.delete(url));
  }
  return blob;
}

/**
 * Shows an API image in `img`. Without a token that is its URL; with one, the
 * bytes are fetched with the token (an <img> cannot send it) and shown from memory.
 */
export function showImage(img: HTMLImageElement | HTMLVideoElement, url: string): void {
  img.dataset.url = url;
  if (!apiToken()) {
    img.src = url;
    return;
  }
  imageObjectUrl(url).then((src) => {
    if (img.dataset.url === url) img.src = src;
  }, () => undefined);
}

/** Points a link (a download) at an API image, the same way. */
export function linkImage(link: HTMLAnchorElement, url: string): void {
  if (!apiToken()) {
    link.href = url;
    return;
  }
  imageObjectUrl(url).then((src) => {
    link.href = src;
  }, () => undefined);
}

/** An error the API reported: `field` names the input it is about, when it is about one. */
export class ApiError extends Error {
  constructor(message: string, readonly code?: string, readonly field?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return send<T>({ body: JSON.stringify({ query, variables }), headers: { 'content-type': 'application/json' } });
}

async function send<T>(init: { body: BodyInit; headers: Record<string, string> }): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { accept: 'application/graphql-response+json, application/json', ...authHeaders(), ...init.headers },
      body: init.body,
    });
  } catch {
    throw new ApiError('The service cannot be reached.', 'NETWORK');
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await response.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`The service answered ${response.status} ${response.statusText}.`, 'HTTP');
  }
  const error = body.errors?.[0];
  if (error?.extensions?.code === 'UNAUTHENTICATED') refused();
  if (error) throw new ApiError(error.message, error.extensions?.code, error.extensions?.field);
  if (!body.data) throw new ApiError(`The service answered ${response.status} without data.`, 'HTTP');
  return body.data;
}

export interface ServiceLimits {
  maxImageBytes: number;
  maxImagePixels: number;
  maxDim: number;
  maxTotalSteps: number;
  maxStyleImages: number;
}

/** What the server takes: its limits, and the MIME types of the files it accepts (videos only where it has ffmpeg). */
export async function serviceInfo(): Promise<{ limits: ServiceLimits; acceptedTypes: string[] }> {
  const data = await request<{ serviceInfo: { limits: ServiceLimits; acceptedTypes: string[] } }>(
    'query Limits { serviceInfo { limits { maxImageBytes maxImagePixels maxDim maxTotalSteps maxStyleImages } acceptedTypes } }');
  return data.serviceInfo;
}

/**
 * Uploads an image file as a GraphQL multipart request (uploadImage); the
 * preflight header is the server's cross-site request forgery guard.
 * `filename` is the name the image keeps (its fileName): that of the file the
 * user chose, also when `file` is a smaller copy of it made here.
 */
export async function uploadImage(file: Blob, filename: string): Promise<Image> {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: `mutation UploadImage($file: Upload!) { uploadImage(file: $file) { ${IMAGE} } }`,
    variables: { file: null },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, filename);
  const data = await send<{ uploadImage: Image }>({ body: form, headers: { 'apollo-require-preflight': 'true' } });
  return data.uploadImage;
}

export async function listPresets(): Promise<Preset[]> {
  const data = await request<{ presets: Preset[] }>(`query Presets { presets { name title artist painting { ${IMAGE} } } }`);
  return data.presets;
}

export async function startRun(input: StartRunInput): Promise<Run> {
  const data = await request<{ startRun: Run }>(
    `mutation StartRun($input: StartRunInput!) { startRun(input: $input) { ${RUN} } }`, { input });
  return data.startRun;
}

/** What startRun would take on this server (estimateRun). */
export interface RunEstimate {
  seconds: number | null;
  steps: number;
  peakMemoryBytes: number;
  fits: boolean;
  largestMaxDim: number | null;
  device: string | null;
}

export async function estimateRun(input: StartRunInput): Promise<RunEstimate> {
  const data = await request<{ estimateRun: RunEstimate }>(
    'query EstimateRun($input: StartRunInput!) { estimateRun(input: $input) { seconds steps peakMemoryBytes fits largestMaxDim device } }', { input });
  return data.estimateRun;
}

export async function cancelRun(id: string): Promise<Run> {
  const data = await request<{ cancelRun: Run }>(`mutation CancelRun($id: ID!) { cancelRun(id: $id) { ${RUN} } }`, { id });
  return data.cancelRun;
}

export async function deleteRun(id: string): Promise<boolean> {
  const data = await request<{ deleteRun: boolean }>(`mutation DeleteRun($id: ID!) { deleteRun(id: $id) }`, { id });
  return data.deleteRun;
}

export async function getRun(id: string): Promise<RunWithEpochs | null> {
  const data = await request<{ run: RunWithEpochs | null }>(
    `query Run($id: ID!) { run(id: $id) { ${RUN} epochs { ${EPOCH} } frames { ${FRAME} } } }`, { id });
  return data.run;
}

export interface RunPage {
  runs: Run[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export async function listRuns(status: RunStatus | null, first: number, after: string | null): Promise<RunPage> {
  const data = await request<{ runs: { edges: { node: Run }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
    `query Runs($status: RunStatus, $first: Int, $after: String) {
      runs(status: $status, first: $first, after: $after) { edges { node { ${RUN} } } pageInfo { hasNextPage endCursor } }
    }`, { status, first, after });
  return { runs: data.runs.edges.map((edge) => edge.node), hasNextPage: data.runs.pageInfo.hasNextPage, endCursor: data.runs.pageInfo.endCursor };
}

let wsClient: Client | undefined;

function ws(): Client {
  wsClient ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    lazy: true,
    connectionParams: () => authHeaders(),
    retryAttempts: 8,
    // Pings, so that an idle proxy does not cut a subscription during a long epoch.
    keepAlive: 15_000,
    // 4403: the server refused the token; trying again will not help.
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === 4403),
  });
  return wsClient;
}

export interface RunEventHandlers {
  /** Every STATUS and EPOCH event, each once. */
  next(event: RunEvent): void;
  error(error: ApiError): void;
  complete(): void;
}

function subscriptionError(error: unknown): ApiError {
  if (error instanceof CloseEvent && error.code === 4403) refused();
  const message = Array.isArray(error) ? String((error[0] as { message?: string })?.message)
    : error instanceof Error ? error.message : 'The live connection closed.';
  return new ApiError(message, 'SUBSCRIPTION');
}

function resultError(errors: readonly unknown[] | undefined): ApiError | undefined {
  const error = errors?.[0] as { message: string; extensions?: { code?: string; field?: string } } | undefined;
  return error && new ApiError(error.message, error.extensions?.code, error.extensions?.field);
}

/**
 * Follows a run: its events so far (epochs after `sinceEpoch`), then live
 * ones; returns an unsubscribe. After a dropped connection graphql-ws
 * subscribes again with the same payload: `afterSequence` in it is kept at
 * the last event received, so the new subscription starts after it and
 * nothing is shown twice.
 */
export function subscribeRunEvents(runId: string, sinceEpoch: number, handlers: RunEventHandlers): () => void {
  const variables = { runId, sinceEpoch, afterSequence: 0 };
  return ws().subscribe<{ runEvents: RunEvent }>(
    {
      query: `subscription RunEvents($runId: ID!, $sinceEpoch: Int, $afterSequence: Int) {
        runEvents(runId: $runId, sinceEpoch: $sinceEpoch, afterSequence: $afterSequence) { sequence kind run { ${RUN} } epoch { ${EPOCH} } frame { ${FRAME} } }
      }`,
      variables,
    },
    {
      next(result) {
        const error = resultError(result.errors);
        if (error) handlers.error(error);
        else if (result.data && result.data.runEvents.sequence > variables.afterSequence) {
          variables.afterSequence = result.data.runEvents.sequence;
          handlers.next(result.data.runEvents);
        }
      },
      error: (error) => handlers.error(subscriptionError(error)),
      complete: handlers.complete,
    },
  );
}

/**
 * A running run's steps, a few a second, on a subscription of their own that
 * selects nothing but the step: the server resolves no run for each of them
 * (the events subscription carries the run). Ends with the run.
 */
export function subscribeRunSteps(runId: string, onStep: (step: RunStep) => void): () => void {
  return ws().subscribe<{ runEvents: { kind: RunEvent['kind']; step: RunStep | null } }>(
    {
      query: `subscription RunSteps($runId: ID!, $sinceEpoch: Int) {
        runEvents(runId: $runId, sinceEpoch: $sinceEpoch, steps: true) { kind step { ${STEP} } }
      }`,
      // No epoch replayed: this subscription is for the steps only.
      variables: { runId, sinceEpoch: 2 ** 31 - 1 },
    },
    {
      next(result) {
        if (result.data?.runEvents.step) onStep(result.data.runEvents.step);
      },
      // The events subscription reports what goes wrong; steps are only a finer grain of its progress.
      error: () => undefined,
      complete: () => undefined,
    },
  );
}
