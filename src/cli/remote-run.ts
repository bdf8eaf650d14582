/**
 * `stylegraph stylize --server URL`: the same run on a stylegraph server,
 * through its public GraphQL API: upload the images, start the run, follow
 * its events over graphql-ws and fetch the images they point to.
 */
import { readFile } from 'node:fs/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ParamError, probeImage, type TransferParams } from '../engine';
import type { RunReport } from './stylize';

interface GraphQLError {
  message: string;
  extensions?: { code?: string; field?: string };
}

class ServerError extends Error {}

/** Server errors that name an input field become ParamErrors, so the command names the flag. */
function raise(errors: GraphQLError[]): never {
  const [first] = errors;
  if (first.extensions?.code === 'BAD_USER_INPUT' && first.extensions.field) {
    const field = first.extensions.field;
    throw new ParamError(field, first.message.startsWith(`${field}: `) ? first.message.slice(field.length + 2) : first.message);
  }
  throw new ServerError(`the server refused: ${errors.map((e) => e.message).join('; ')}`);
}

async function graphql<T>(endpoint: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphQLError[] };
  if (body.errors?.length) raise(body.errors);
  return body.data!;
}

async function upload(endpoint: string, file: string): Promise<string> {
  const bytes = await readFile(file);
  const { mimeType } = await probeImage(bytes).catch((error: Error) => {
    throw new Error(`${file}: ${error.message}`);
  });
  const data = await graphql<{ createImage: { id: string } }>(endpoint,
    'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }',
    { dataUrl: `data:${mimeType};base64,${bytes.toString('base64')}` });
  return data.createImage.id;
}

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new ServerError(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The API spells enum values in capitals. */
function startRunInput(params: Partial<TransferParams>): Record<string, unknown> {
  return {
    ...params,
    ...(params.init && { init: params.init.toUpperCase() }),
    ...(params.pooling && { pooling: params.pooling.toUpperCase() }),
    ...(params.optimizer && { optimizer: params.optimizer.toUpperCase() }),
  };
}

const RUN_EVENTS = `subscription($runId: ID!, $afterSequence: Int) {
  runEvents(runId: $runId, afterSequence: $afterSequence) {
    sequence
    kind
    run { status error totalEpochs resultImage { url } params { stepsPerEpoch } }
    epoch { epoch step totalLoss contentLoss styleLoss totalVariationLoss elapsedMs preview { url width height } }
  }
}`;

interface RunEventData {
  runEvents: {
    sequence: number;
    kind: 'STATUS' | 'EPOCH';
    run: { status: string; error: string | null; totalEpochs: number; resultImage: { url: string } | null; params: { stepsPerEpoch: number } };
    epoch: { epoch: number; step: number; totalLoss: number; contentLoss: number; styleLoss: number; totalVariationLoss: number; elapsedMs: number; preview: { url: string; width: number; height: number } } | null;
  };
}

export async function* runOnServer(
  server: string,
  files: { content: string; styles: string[] },
  params: Partial<TransferParams>,
): AsyncGenerator<RunReport> {
  const base = server.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const endpoint = `${base}/graphql`;
  const [contentImageId, ...styleImageIds] = await Promise.all([files.content, ...files.styles].map((file) => upload(endpoint, file)));
  const { startRun } = await graphql<{ startRun: { id: string } }>(endpoint,
    'mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
    { input: { contentImageId, styleImageIds, ...startRunInput(params) } });
  console.error(`stylegraph: run ${startRun.id} on ${base}`);

  // Pings, so that an idle proxy does not cut the subscription during a long epoch.
  const client = createClient({ url: endpoint.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: true, keepAlive: 15_000 });
  // Ctrl-C cancels the run on the server rather than leaving it to finish unwatched.
  const cancel = () => {
    void graphql(endpoint, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: startRun.id }).finally(() => process.exit(130));
  };
  process.once('SIGINT', cancel);
  try {
    // Kept at the last event received: a subscription graphql-ws makes again after a dropped connection starts after it.
    const variables = { runId: startRun.id, afterSequence: 0 };
    for await (const result of client.iterate<RunEventData>({ query: RUN_EVENTS, variables })) {
      if (result.errors?.length) raise(result.errors as GraphQLError[]);
      const { sequence, kind, run, epoch } = result.data!.runEvents;
      if (sequence <= variables.afterSequence) continue;
      variables.afterSequence = sequence;
      if (kind === 'EPOCH' && epoch) {
        const totalSteps = run.totalEpochs * run.params.stepsPerEpoch;
        yield {
          kind: 'epoch',
          epoch: {
            epoch: epoch.epoch,
            epochs: run.totalEpochs,
            step: epoch.step,
            totalSteps,
            losses: { total: epoch.totalLoss, content: epoch.contentLoss, style: epoch.styleLoss, totalVariation: epoch.totalVariationLoss },
            elapsedMs: epoch.elapsedMs,
            etaMs: (epoch.elapsedMs / epoch.step) * (totalSteps - epoch.step),
            width: epoch.preview.width,
            height: epoch.preview.height,
            png: () => download(epoch.preview.url),
          },
        };
      } else if (run.status === 'FAILED' || run.status === 'CANCELED') {
        throw new ServerError(`the run ${run.status === 'FAILED' ? `failed: ${run.error}` : 'was cancelled'}`);
      }
    }
  } finally {
    process.off('SIGINT', cancel);
    await client.dispose();
  }
}
