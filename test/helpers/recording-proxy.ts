/**
 * A pass-through HTTP proxy that keeps every request a client sent through it,
 * to see what a client puts on the wire while a real server answers it.
 * WebSocket upgrades are passed on too (their frames, masked, are not read).
 */
import http from 'node:http';
import net from 'node:net';

export interface SentRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** A WebSocket handshake. */
  upgrade: boolean;
}

export interface RecordingProxy {
  url: string;
  requests: SentRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const requests: SentRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    requests.push({ method: req.method!, path: req.url!, headers: req.headers, body, upgrade: false });
    const forwarded = http.request({ hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    forwarded.on('error', () => res.destroy());
    forwarded.end(body);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    requests.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.alloc(0), upgrade: true });
    const forwarded = net.connect(Number(port), hostname, () => {
      const headerLines = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headerLines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
      forwarded.write(`${req.method} ${req.url} HTTP/1.1\r\n${headerLines.join('')}\r\n`);
      forwarded.write(head);
      socket.pipe(forwarded).pipe(socket);
    });
    for (const end of [socket, forwarded]) {
      sockets.add(end);
      end.on('error', () => { socket.destroy(); forwarded.destroy(); });
      end.on('close', () => sockets.delete(end));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
