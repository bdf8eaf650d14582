/** A throwaway HTTP server on 127.0.0.1 for download tests; nothing leaves the machine. */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route =
  /** Sent in chunks of `chunkBytes`; `chunked` omits Content-Length; `cutAfter` drops the connection after that many bytes. */
  | { body: Buffer; chunkBytes?: number; chunked?: boolean; cutAfter?: number }
  | { redirectTo: string }
  | { status: number };

export interface TestServer {
  url(path: string): string;
  /** How many requests a path has had. */
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startTestServer(routes: Record<string, Route>): Promise<TestServer> {
  const hits = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path] ?? { status: 404 };
    if ('redirectTo' in route) {
      response.writeHead(302, { location: route.redirectTo }).end();
    } else if ('status' in route) {
      response.writeHead(route.status).end(`status ${route.status}`);
    } else {
      void sendBody(response, route);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits: (path) => hits.get(path) ?? 0,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function sendBody(response: ServerResponse, route: Extract<Route, { body: Buffer }>): Promise<void> {
  const { body, chunkBytes = 16 * 1024, chunked = false, cutAfter } = route;
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    ...(chunked ? {} : { 'content-length': String(body.length) }),
  });
  const end = cutAfter ?? body.length;
  for (let offset = 0; offset < end; offset += chunkBytes) {
    response.write(body.subarray(offset, Math.min(offset + chunkBytes, end)));
    // Let each chunk go out on its own, so the client sees progress.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (cutAfter === undefined) response.end();
  else response.socket?.destroy();
}
