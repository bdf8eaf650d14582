/**
 * `stylegraph stylize --server URL`: the same run on a stylegraph server,
 * through its public GraphQL API: upload the images, start the run, follow
 * its events over graphql-ws and fetch the images they point to.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CloseCode, createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ImageError, ParamError, probeImage, type TransferParams } from '../engine';
import { sniffVideoFormat } from '../images/video';
import { remainingMs, type ContentReport, type RunReport } from './run-report';

interface GraphQLError {
  message: string;
  extensions?: { code?: string; field?: string };
}

class ServerError extends Error {}

/** Where the run happens: the server's URL and, when it requires one, the API token. */
export interface Server {
  url: string;
  token?: string;
}

/** The server's API as the command uses it: every request, download and subscription carries the token. */
class ServerApi {
  /** The server's root, without /graphql. */
  readonly base: string;
  private readonly endpoint: string;
  private readonly authorization: Record<string, string>;

  constructor(private readonly server: Server) {
    this.base = server.url.replace(/\/+$/, '').replace(/\/graphql$/, '');
    this.endpoint = `${this.base}/graphql`;
    this.authorization = server.token ? { authorization: `Bearer ${server.token}` } : {};
  }

  async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    return this.answer<T>(await fetch(this.endpoint, {
      method: 'POST',
      headers: { ...this.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    }));
  }

  /** Uploads an image or a video file (uploadImage, a GraphQL multipart request); returns its id and what the server found it is. */
  async upload(file: string): Promise<ContentReport & { id: string }> {
    const bytes = await readFile(file);
    // Checked here first, so that a file that is no image is named before anything is sent. The server reads
    // the type from the bytes: an animation's or a video's limits and frames are the server's to judge.
    if (!sniffVideoFormat(bytes)) {
      await probeImage(bytes).catch((error: Error) => {
        if (!(error instanceof ImageError && error.code === 'ANIMATED')) throw new Error(`${file}: ${error.message}`);
      });
    }
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation($file: Upload!) { uploadImage(file: $file) { id mimeType frames } }', variables: { file: null } }));
    form.set('map', JSON.stringify({ image: ['variables.file'] }));
    form.set('image', new Blob([bytes]), path.basename(file));
    try {
      const data = await this.answer<{ uploadImage: ContentReport & { id: string } }>(await fetch(this.endpoint, {
        method: 'POST',
        // The server's cross-site request forgery protection: only a client that can set headers may upload.
        headers: { ...this.authorization, 'apollo-require-preflight': 'true' },
        body: form,
      }));
      return data.uploadImage;
    } catch (error) {
      // The server names its `file` argument; the user knows the file by its path.
      if (error instanceof ParamError && error.field === 'file') throw new Error(`${file}: ${error.message.slice('file: '.length)}`);
      throw error;
    }
  }

  async download(url: string): Promise<Uint8Array> {
    const response = await fetch(url, { headers: this.authorization });
    if (response.status === 401) throw this.unauthenticated();
    if (!response.ok) throw new ServerError(`GET ${url}: ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** A graphql-ws client, connecting when first used. */
  subscriptions(): Client {
    return createClient({
      url: this.endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      // Pings, so that an idle proxy does not cut the subscription during a long epoch.
      keepAlive: 15_000,
      connectionParams: this.authorization,
      // A refused (revoked) token stays refused: no reconnecting with it.
      shouldRetry: (event) => {
        const code = closeCode(event);
        return code !== undefined && code !== CloseCode.Forbidden;
      },
    });
  }

  /** What went wrong with a subscription, as an Error (graphql-ws throws the close event). */
  subscriptionFailure(error: unknown): unknown {
    const code = closeCode(error);
    if (code === CloseCode.Forbidden) return this.unauthenticated();
    if (code === undefined) return error;
    const { reason } = error as { reason?: string };
    return new ServerError(`the server closed the event stream (${code}${reason ? ` ${reason}` : ''})`);
  }

  private async answer<T>(response: Response): Promise<T> {
    if (response.status === 401) throw this.unauthenticated();
    const body = (await response.json()) as { data?: T; errors?: GraphQLError[] };
    if (body.errors?.length) this.raise(body.errors);
    return body.data!;
  }

  /** Server errors as the command reports them: a refused token says how to give one; those naming an input field become ParamErrors, so the command names the flag. */
  raise(errors: GraphQLError[]): never {
    const [first] = errors;
    if (first.extensions?.code === 'UNAUTHENTICATED') throw this.unauthenticated();
    if (first.extensions?.code === 'BAD_USER_INPUT' && first.extensions.field) {
      const field = first.extensions.field;
      throw new ParamError(field, first.message.startsWith(`${field}: `) ? first.message.slice(field.length + 2) : first.message);
    }
    throw new ServerError(`the server refused: ${errors.map((e) => e.message).join('; ')}`);
  }

  /** One line that says which setting gives the token. */
  private unauthenticated(): ServerError {
    return new ServerError(this.server.token
      ? `${this.base} refused the API token (unknown or revoked); give a valid one with --token TOKEN or STYLEGRAPH_TOKEN`
      : `${this.base} requires an API token: give one with --token TOKEN or STYLEGRAPH_TOKEN`);
  }
}

/** The close code of what graphql-ws throws when the socket closes; undefined for anything else. */
function closeCode(event: unknown): number | undefined {
  const code = (event as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API spells enum values in capitals. */
function startRunInput(params: Partial<TransferParams>): Record<string, unknown> {
  return {
    ...params,
    ...(params.init && { init: params.init.toUpperCase() }),
    ...(params.pooling && { pooling: params.pooling.toUpperCase() }),
    ...(params.optimizer && { optimizer: params.optimizer.toUpperCase() }),
    ...(params.mode && { mode: params.mode.toUpperCase().replace(/-/g, '_') }),
  };
}

const RUN_EVENTS = `subscription($runId: ID!, $afterSequence: Int) {
  runEvents(runId: $runId, afterSequence: $afterSequence) {
    sequence
    kind
    status
    run { error totalEpochs totalFrames flicker resultImage { url mimeType frames } params { stepsPerEpoch } }
    epoch { epoch step totalLoss contentLoss styleLoss totalVariationLoss temporalLoss elapsedMs preview { url width height } }
  }
}`;

interface RunEventData {
  runEvents: {
    sequence: number;
    kind: 'STATUS' | 'EPOCH';
    status: string;
    run: {
      error: string | null; totalEpochs: number; totalFrames: number; flicker: number | null;
      resultImage: { url: string; mimeType: string; frames: number } | null; params: { stepsPerEpoch: number };
    };
    epoch: { epoch: number; step: number; totalLoss: number; contentLoss: number; styleLoss: number; totalVariationLoss: number; temporalLoss: number; elapsedMs: number; preview: { url: string; width: number; height: number } } | null;
  };
}

export async function* runOnServer(
  server: Server,
  files: { content: string; styles: string[] },
  params: Partial<TransferParams>,
): AsyncGenerator<RunReport> {
  const api = new ServerApi(server);
  // The token first, in a small request: a server refuses a request without reading its body
  // and closes the connection, which a client still sending an image sees as EPIPE, not as the 401.
  await api.graphql('{ __typename }', {});
  const [content, ...styles] = await Promise.all([files.content, ...files.styles].map((file) => api.upload(file)));
  yield { kind: 'content', content: { mimeType: content.mimeType, frames: content.frames } };
  const [contentImageId, styleImageIds] = [content.id, styles.map((style) => style.id)];
  const { startRun } = await api.graphql<{ startRun: { id: string } }>(
    'mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
    { input: { contentImageId, styleImageIds, ...startRunInput(params) } });
  console.error(`stylegraph: run ${startRun.id} on ${api.base}`);

  const client = api.subscriptions();
  // Ctrl-C cancels the run on the server rather than leaving it to finish unwatched.
  const cancel = () => {
    void api.graphql('mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: startRun.id }).finally(() => process.exit(130));
  };
  process.once('SIGINT', cancel);
  try {
    // Kept at the last event received: a subscription graphql-ws makes again after a dropped connection starts after it.
    const variables = { runId: startRun.id, afterSequence: 0 };
    for await (const result of client.iterate<RunEventData>({ query: RUN_EVENTS, variables })) {
      if (result.errors?.length) api.raise(result.errors as GraphQLError[]);
      const { sequence, kind, status, run, epoch } = result.data!.runEvents;
      if (sequence <= variables.afterSequence) continue;
      variables.afterSequence = sequence;
      if (kind === 'EPOCH' && epoch) {
        const totalSteps = run.totalEpochs * run.params.stepsPerEpoch;
        yield {
          kind: 'epoch',
          epoch: {
            epoch: epoch.epoch,
            epochs: run.totalEpochs,
            // Each frame takes as many epochs.
            frame: Math.ceil((epoch.epoch * run.totalFrames) / run.totalEpochs),
            step: epoch.step,
            totalSteps,
            losses: { total: epoch.totalLoss, content: epoch.contentLoss, style: epoch.styleLoss, totalVariation: epoch.totalVariationLoss, temporal: epoch.temporalLoss },
            elapsedMs: epoch.elapsedMs,
            etaMs: remainingMs(epoch.elapsedMs, epoch.epoch, run.totalEpochs),
            width: epoch.preview.width,
            height: epoch.preview.height,
            png: () => api.download(epoch.preview.url),
          },
        };
      } else if (status === 'SUCCEEDED' && run.resultImage) {
        const { url, mimeType, frames } = run.resultImage;
        yield { kind: 'result', result: { mimeType, frames, flicker: run.flicker, bytes: () => api.download(url) } };
      } else if (status === 'FAILED' || status === 'CANCELED') {
        throw new ServerError(`the run ${status === 'FAILED' ? `failed: ${run.error}` : 'was cancelled'}`);
      }
    }
  } catch (error) {
    throw api.subscriptionFailure(error);
  } finally {
    process.off('SIGINT', cancel);
    await client.dispose();
  }
}
