/** An API server with auth required (on 127.0.0.1) over a test service, and clients that send tokens. */
import type { GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TokenStore } from '../../src/auth/tokens.js';
import type { Role } from '../../src/config.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import type { ApiServerConfig } from '../../src/http/config.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { startTestService, type TestService } from './service.js';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLFormattedError[];
}

export class AuthApi {
  readonly tokens: TokenStore;
  private readonly clients: Client[] = [];

  private constructor(readonly service: TestService, readonly server: ApiServer) {
    this.tokens = new TokenStore(service.db.prisma);
  }

  static async start(options: { role?: Role; config?: Partial<ApiServerConfig> } = {}): Promise<AuthApi> {
    const service = await startTestService('pglite', { role: options.role });
    try {
      const server = await startApiServer(service, {
        host: '127.0.0.1', port: 0, limits: { ...DEFAULT_API_LIMITS }, auth: { mode: 'required' }, rateLimit: null, ...options.config,
      });
      return new AuthApi(service, server);
    } catch (err) {
      await service.close();
      throw err;
    }
  }

  get graphqlUrl(): string {
    return `${this.server.url}/graphql`;
  }

  async token(name: string, admin = false): Promise<string> {
    return (await this.tokens.create({ name, admin })).token;
  }

  async request<T = any>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<Reply<T>> {
    const response = await fetch(this.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, headers: response.headers, ...(await response.json()) as object };
  }

  async query<T = any>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const { data, errors, status } = await this.request<T>(token, query, variables);
    if (errors || status !== 200) throw new Error(`HTTP ${status}, GraphQL errors: ${JSON.stringify(errors)}`);
    return data!;
  }

  /** A graphql-ws client sending `token` in connectionParams. */
  ws(token: string | null, options: { lazy?: boolean } = {}): Client {
    const client = createClient({
      url: `${this.server.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: options.lazy ?? true,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    });
    this.clients.push(client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.dispose()));
    await this.server.close();
    await this.service.close();
  }
}

/** Every result of one subscription until it completes; rejects with what graphql-ws reports (errors, close events). */
/** Every result of an operation until it completes; `onResult` sees each as it arrives. */
export function collect<T = any>(
  client: Client, query: string, variables: Record<string, unknown>, timeoutMs = 60_000, onResult?: () => void,
): Promise<{ data?: T; errors?: readonly GraphQLFormattedError[] }[]> {
  const results: { data?: T; errors?: readonly GraphQLFormattedError[] }[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { unsubscribe(); reject(new Error(`no completion within ${timeoutMs} ms: ${JSON.stringify(results)}`)); }, timeoutMs);
    const unsubscribe = client.subscribe<T>({ query, variables }, {
      next: (result) => { results.push(result as never); onResult?.(); },
      error: (err) => { clearTimeout(timer); reject(err); },
      complete: () => { clearTimeout(timer); resolve(results); },
    });
  });
}

export async function imageDataUrl(png: Buffer): Promise<string> {
  return `data:image/png;base64,${png.toString('base64')}`;
}
