/**
 * A pass-through HTTP proxy that keeps every request a client sent through it,
 * to see what a client puts on the wire while a real server answers it.
 * WebSocket upgrades are passed on too; the text messages a client sends on
 * them are kept (unmasked), and the test may cut them as a network would.
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
  /** The text messages clients sent on WebSockets, in order, over every connection. */
  webSocketMessages: string[];
  /** Drops every open WebSocket connection at once, with no close handshake. */
  cutWebSockets(): void;
  close(): Promise<void>;
}

/**
 * Reads the client's side of a WebSocket: frames (RFC 6455, always masked
 * from a client) as they complete, each unfinished one kept for the next chunk.
 */
function clientFrameReader(onText: (text: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 2) return;
      const opcode = pending[0] & 0x0f;
      let length = pending[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (pending.length < 10) return;
        length = Number(pending.readBigUInt64BE(2));
        offset = 10;
      }
      if (pending.length < offset + 4 + length) return;
      const mask = pending.subarray(offset, offset + 4);
      const payload = Buffer.from(pending.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      if (opcode === 0x1) onText(payload.toString('utf8'));
      pending = pending.subarray(offset + 4 + length);
    }
  };
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const requests: SentRequest[] = [];
  const webSocketMessages: string[] = [];
  const sockets = new Set<net.Socket>();
  const upgraded = new Set<net.Socket>();
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
      socket.on('data', clientFrameReader((text) => webSocketMessages.push(text)));
      socket.pipe(forwarded).pipe(socket);
    });
    upgraded.add(socket);
    socket.on('close', () => {
      upgraded.delete(socket);
      forwarded.destroy();
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
    webSocketMessages,
    cutWebSockets: () => {
      for (const socket of upgraded) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
