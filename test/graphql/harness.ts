/** An API server on 127.0.0.1 (port 0) over a test service, with an HTTP client and a real graphql-ws client. */
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Role } from '../../src/config.js';
import { DEFAULT_API_LIMITS, type ApiLimits } from '../../src/runs/limits.js';
import type { QueryLimits } from '../../src/graphql/query-limits.js';
import type { OriginPolicy } from '../../src/http/origin-guard.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import type { DatabaseKind } from '../helpers/databases.js';
import { makePng } from '../helpers/images.js';
import { startTestService, type TestService } from '../helpers/service.js';
import type { VideoTools } from '../../src/images/video-tools.js';

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: GraphQLFormattedError[];
}

export const IMAGE_FIELDS = 'id url width height mimeType sha256';

export class TestApi {
  private constructor(readonly service: TestService, readonly server: ApiServer, readonly ws: Client) {}

  static async start(
    kind: DatabaseKind,
    options: {
      role?: Role; concurrency?: number; limits?: Partial<ApiLimits>; origins?: OriginPolicy; queryLimits?: Partial<QueryLimits>;
      /** ffmpeg and ffprobe (default: those found); null: a server without them. */
      video?: VideoTools | null;
    } = {},
  ): Promise<TestApi> {
    const service = await startTestService(kind, { role: options.role, concurrency: options.concurrency, video: options.video });
    try {
      const server = await startApiServer(service, {
        host: '127.0.0.1', port: 0, limits: { ...DEFAULT_API_LIMITS, ...options.limits }, origins: options.origins, queryLimits: options.queryLimits,
      });
      const ws = createClient({ url: `${server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
      return new TestApi(service, server, ws);
    } catch (err) {
      await service.close();
      throw err;
    }
  }

  get graphqlUrl(): string {
    return `${this.server.url}/graphql`;
  }

  /** A GraphQL request over HTTP, as it comes back. */
  async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
    const response = await fetch(this.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...(await response.json()) as object };
  }

  /** The data of a request that must succeed. */
  async query<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const { data, errors } = await this.request<T>(query, variables);
    if (errors) throw new Error(`GraphQL errors: ${JSON.stringify(errors)}`);
    return data!;
  }

  /** Every result of a subscription, until it completes (or the timeout); `onResult` sees each as it arrives. */
  subscribe<T = any>(
    query: string,
    variables: Record<string, unknown>,
    { onResult, timeoutMs = 90_000 }: { onResult?: (result: ExecutionResult<T>) => void; timeoutMs?: number } = {},
  ): Promise<ExecutionResult<T>[]> {
    const results: ExecutionResult<T>[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`subscription did not complete within ${timeoutMs} ms; got ${JSON.stringify(results)}`));
      }, timeoutMs);
      const unsubscribe = this.ws.subscribe<T>({ query, variables }, {
        next: (result) => {
          results.push(result as ExecutionResult<T>);
          onResult?.(result as ExecutionResult<T>);
        },
        error: (err) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve(results);
        },
      });
    });
  }

  /** Stores a `size` x `size` PNG through createImage; returns its id. */
  async createImage(seed: number, size = 32): Promise<string> {
    const data = await this.query<{ createImage: { id: string } }>(
      'mutation($dataUrl: String!) { createImage(dataUrl: $dataUrl) { id } }',
      { dataUrl: await pngDataUrl(size, size, seed) },
    );
    return data.createImage.id;
  }

  async close(): Promise<void> {
    await this.ws.dispose();
    await this.server.close();
    await this.service.close();
  }
}

/**
 * A real GraphQL multipart request of uploadImage (selecting `fields`), the
 * file part of MIME type `type` named `fileName`, as the page and the CLI send it.
 */
export async function uploadImage<T = Record<string, any>>(
  graphqlUrl: string, file: { bytes: Buffer; type: string; fileName: string }, fields: string, token?: string,
): Promise<{ data?: { uploadImage: T } | null; errors?: GraphQLFormattedError[] }> {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: `mutation($file: Upload!) { uploadImage(file: $file) { ${fields} } }`, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([file.bytes], { type: file.type }), file.fileName);
  const headers: Record<string, string> = { 'apollo-require-preflight': 'true', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(graphqlUrl, { method: 'POST', headers, body: form });
  return await response.json() as { data?: { uploadImage: T } | null; errors?: GraphQLFormattedError[] };
}

export async function pngDataUrl(width: number, height: number, seed: number): Promise<string> {
  return `data:image/png;base64,${(await makePng(width, height, seed)).toString('base64')}`;
}

/** The fields of a GraphQL error that matter to clients. */
export function errorCodes(errors: GraphQLFormattedError[] | undefined): { code: unknown; field?: unknown }[] {
  return (errors ?? []).map((e) => ({ code: e.extensions?.code, ...(e.extensions?.field === undefined ? {} : { field: e.extensions.field }) }));
}
