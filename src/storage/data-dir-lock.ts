import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

/**
 * PGlite gives no error when a second process opens the same data directory;
 * both then write and the cluster is silently corrupted. This lock keeps a
 * second process out, across pid namespaces and containers that share the
 * directory (and one kernel): a pid proves nothing there (every container's
 * first process is pid 1), so the owner proves that it lives by listening on
 * a Unix socket in the directory. A connection that succeeds: the owner lives.
 * ECONNREFUSED, ENOENT, or ECONNRESET while connecting: it is gone (kill -9,
 * a crash, a zombie: the kernel closed its socket) and the lock is taken over.
 *
 * How it is claimed, race-free without any file being removed under another:
 * each starter first listens on a socket of its own (`sg-<random>.sock`, so a
 * dead owner's socket never comes back to life), then claims generation N+1
 * by hard-linking a finished record (`stylegraph.lock.<N+1>`, naming its
 * socket) into place, which only one starter can do, and only after it found
 * generation N's owner gone. A claim is kept only if no higher generation
 * appeared meanwhile; the winner removes the generations below its own. The
 * highest generation names the owner; release closes its socket and leaves
 * the record, which then names a socket nobody answers on.
 *
 * The same socket carries requests from local commands to the owner (see
 * `answer` and `askDataDirOwner`): its mode (0600) is their authorisation, as
 * whoever may open it may read the database files anyway.
 */
export class DataDirBusyError extends Error {
  constructor(readonly dataDir: string, readonly pid: number, readonly host?: string) {
    super(`${dataDir} is in use by process ${pid}${host ? ` on host ${host}` : ''}; stop it or point STYLEGRAPH_DATA_DIR elsewhere`);
    this.name = 'DataDirBusyError';
  }
}

/** Answers one channel's requests (JSON values) on the lock's socket; what it throws reaches the asker as an error message. */
export type ControlHandler = (request: unknown) => Promise<unknown>;

/** Requests from local commands (`stylegraph tokens`), sent to the process that holds a data directory. */
export interface ControlChannel {
  answer(channel: string, handler: ControlHandler): void;
}

export interface DataDirLock extends ControlChannel {
  /** Stops answering and listening (the lock is free from then on). Call it after the database is closed. */
  release(): void;
}

export interface LockOptions {
  /** How long a live owner is waited for (one that is closing its database) before DataDirBusyError. */
  waitMs?: number;
}

/** Long enough for an owner that is closing its database, for a supervisor's immediate restart. */
const DEFAULT_WAIT_MS = 5_000;
const POLL_MS = 100;
/** A probe gets no answer this long: the owner is taken to live (stopped, overloaded). */
const PROBE_TIMEOUT_MS = 1_000;
const MAX_MESSAGE_BYTES = 64 * 1024;
const RECORD = /^stylegraph\.lock\.(\d+)$/;
const SOCKET = /^sg-[0-9a-f]+\.sock$/;
/** What versions before the socket lock wrote: a pid alone. */
const LEGACY_PID_FILE = 'stylegraph.pid';
/** sun_path holds 108 bytes with its terminating NUL; libuv silently truncates longer paths. */
const MAX_SOCKET_PATH = 107;

interface OwnerRecord {
  socket: string;
  pid: number;
  host: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Runs `use` with a path to `name` in `dir` that fits sun_path: the path
 * itself, or, when the directory's path is too long, the same file through an
 * open descriptor of the directory (/proc/self/fd/N/name, Linux).
 */
async function withSocketPath<T>(dir: string, name: string, use: (socketPath: string) => Promise<T>): Promise<T> {
  const full = path.join(dir, name);
  if (Buffer.byteLength(full) <= MAX_SOCKET_PATH) return use(full);
  if (!fs.existsSync('/proc/self/fd')) {
    throw new Error(`${dir}: the path is too long for the data directory's lock socket (${MAX_SOCKET_PATH} bytes at most); use a shorter STYLEGRAPH_DATA_DIR`);
  }
  const fd = fs.openSync(dir, 'r');
  try {
    return await use(`/proc/self/fd/${fd}/${name}`);
  } finally {
    fs.closeSync(fd);
  }
}

function readRecord(file: string): OwnerRecord | undefined | 'missing' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const record = JSON.parse(text) as Partial<OwnerRecord>;
    return typeof record.socket === 'string' && SOCKET.test(record.socket)
      ? { socket: record.socket, pid: Number(record.pid), host: String(record.host) } : undefined;
  } catch {
    return undefined; // Not a record of ours: nobody answers for it.
  }
}

/** The highest generation's number and file, if any. */
function topGeneration(dataDir: string): { generation: number; file: string } | undefined {
  let top: { generation: number; file: string } | undefined;
  for (const name of fs.readdirSync(dataDir)) {
    const match = RECORD.exec(name);
    const generation = match ? Number(match[1]) : 0;
    if (match && generation > (top?.generation ?? 0)) top = { generation, file: path.join(dataDir, name) };
  }
  return top;
}

/** Whether someone listens on `name` in `dir`: a connection succeeds (or cannot be told: the owner is then taken to live). */
function probe(dir: string, name: string): Promise<'alive' | 'gone'> {
  return withSocketPath(dir, name, (socketPath) => new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const done = (state: 'alive' | 'gone') => {
      socket.destroy();
      resolve(state);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done('alive'));
    socket.once('connect', () => done('alive'));
    socket.once('error', (err) => {
      const code = errorCode(err);
      // ECONNRESET before the connection is made: the kernel was closing the listener of a process that just died.
      if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET') done('gone');
      else if (code === 'EAGAIN') done('alive'); // Its backlog is full: it lives.
      else {
        socket.destroy();
        reject(new Error(`${dir}: cannot tell whether the data directory's owner lives (${code} on ${name})`));
      }
    });
  }));
}

/**
 * A lock file from a version before this lock: its owner while that pid lives
 * and is not ours (pid 1 in a container); else, with `removeStale`, removed.
 */
function legacyOwner(dataDir: string, removeStale: boolean): number | undefined {
  const file = path.join(dataDir, LEGACY_PID_FILE);
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      if (errorCode(err) === 'EPERM') return pid;
    }
  }
  if (removeStale) fs.rmSync(file, { force: true });
  return undefined;
}

/** Listens on a new socket of this process's own in the directory (mode 0600) and answers control requests on it. */
async function listenOwn(dataDir: string, handlers: Map<string, ControlHandler>): Promise<{ server: net.Server; name: string }> {
  const name = `sg-${randomBytes(8).toString('hex')}.sock`;
  const server = net.createServer((socket) => answerOn(socket, handlers));
  await withSocketPath(dataDir, name, (socketPath) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // No moment with a wider mode: the socket is created under this umask (bind happens within listen()).
    // Threads may not change it: there the chmod below alone narrows it.
    const umask = isMainThread ? process.umask(0o077) : undefined;
    try {
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
  }));
  fs.chmodSync(path.join(dataDir, name), 0o600);
  return { server, name };
}

/** One request per connection: a JSON line in, a JSON line out. A probe connects and closes without a word. */
function answerOn(socket: net.Socket, handlers: Map<string, ControlHandler>): void {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('error', () => { /* the asker went away */ });
  socket.on('data', (chunk: string) => {
    received += chunk;
    if (received.length > MAX_MESSAGE_BYTES) return void socket.destroy();
    const end = received.indexOf('\n');
    if (end < 0) return;
    socket.removeAllListeners('data');
    void (async () => {
      let reply: object;
      try {
        const { channel, request } = JSON.parse(received.slice(0, end)) as { channel: string; request: unknown };
        const handler = handlers.get(channel);
        reply = handler ? { ok: true, value: await handler(request) } : { ok: false, unavailable: true };
      } catch (err) {
        reply = { ok: false, error: (err as Error).message ?? String(err) };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    })();
  });
}

/**
 * What the new owner of `generation` clears away: the records below it, and
 * the sockets and drafts of processes that are gone (a dead owner's, a
 * starter's killed while it waited). Live starters' sockets answer: kept.
 */
async function removeLeftovers(dataDir: string, generation: number, ownSocket: string): Promise<void> {
  for (const name of fs.readdirSync(dataDir)) {
    const record = RECORD.exec(name);
    if (record && Number(record[1]) < generation) fs.rmSync(path.join(dataDir, name), { force: true });
    if (SOCKET.test(name) && name !== ownSocket && (await probe(dataDir, name).catch(() => 'alive')) === 'gone') {
      fs.rmSync(path.join(dataDir, name), { force: true });
      fs.rmSync(path.join(dataDir, `${name}.lock`), { force: true });
    }
  }
}

/**
 * Takes the data directory for this process, creating it when missing. A live
 * owner is waited for (`waitMs`: one that is closing its database lets go)
 * before DataDirBusyError; a gone one's lock is taken over at once.
 */
export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const handlers = new Map<string, ControlHandler>();
  const own = await listenOwn(dataDir, handlers);
  const ownSocket = path.join(dataDir, own.name);
  const draft = path.join(dataDir, `${own.name}.lock`);
  const stopListening = () => {
    handlers.clear();
    own.server.close();
    fs.rmSync(ownSocket, { force: true });
  };
  try {
    fs.writeFileSync(draft, JSON.stringify({ socket: own.name, pid: process.pid, host: os.hostname() } satisfies OwnerRecord), { mode: 0o600 });
    const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
    for (;;) {
      const top = topGeneration(dataDir);
      const record = top && readRecord(top.file);
      if (record === 'missing') continue; // Removed as we looked: a newer generation exists.
      const legacyPid = legacyOwner(dataDir, true);
      const busy = legacyPid !== undefined ? { pid: legacyPid, host: undefined }
        : record && (await probe(dataDir, record.socket)) === 'alive' ? record : undefined;
      if (busy) {
        if (Date.now() >= deadline) throw new DataDirBusyError(dataDir, busy.pid, busy.host);
        await sleep(POLL_MS);
        continue;
      }
      const generation = (top?.generation ?? 0) + 1;
      const claim = path.join(dataDir, `stylegraph.lock.${generation}`);
      try {
        fs.linkSync(draft, claim);
      } catch (err) {
        if (errorCode(err) === 'EEXIST') continue; // Another starter claimed it first.
        throw err;
      }
      // A starter that looked long ago may claim a generation that was removed below a newer one: it backs off.
      if (topGeneration(dataDir)?.generation !== generation) {
        fs.rmSync(claim, { force: true });
        continue;
      }
      fs.rmSync(draft, { force: true });
      await removeLeftovers(dataDir, generation, own.name);
      return {
        answer: (channel, handler) => { handlers.set(channel, handler); },
        release: stopListening,
      };
    }
  } catch (err) {
    fs.rmSync(draft, { force: true });
    stopListening();
    throw err;
  }
}

export type OwnerAnswer =
  | { kind: 'answered'; value: unknown }
  /** No process holds the directory: the asker may open it itself. */
  | { kind: 'no-owner' }
  /** A process holds it but does not answer this channel (it is starting, or it is an older version). */
  | { kind: 'unanswered'; pid: number; host?: string };

/**
 * Sends `request` on `channel` to the process that holds the data directory.
 * An error the owner's handler threw is thrown here with its message.
 */
export async function askDataDirOwner(dataDir: string, channel: string, request: unknown): Promise<OwnerAnswer> {
  if (!fs.existsSync(dataDir)) return { kind: 'no-owner' };
  const legacyPid = legacyOwner(dataDir, false);
  if (legacyPid !== undefined) return { kind: 'unanswered', pid: legacyPid };
  const top = topGeneration(dataDir);
  const record = top && readRecord(top.file);
  if (!record || record === 'missing') return { kind: 'no-owner' };
  const reply = await withSocketPath(dataDir, record.socket, (socketPath) => new Promise<string | undefined>((resolve, reject) => {
    const socket = net.connect(socketPath);
    let received = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ channel, request })}\n`));
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.once('end', () => resolve(received));
    socket.once('error', (err) => {
      const code = errorCode(err);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') resolve(undefined);
      else reject(new Error(`${dataDir}: cannot reach the data directory's owner (${code})`));
    });
  }));
  if (reply === undefined) return { kind: 'no-owner' };
  if (!reply) return { kind: 'unanswered', pid: record.pid, host: record.host }; // Closed while it was stopping.
  const answer = JSON.parse(reply) as { ok: boolean; value?: unknown; unavailable?: boolean; error?: string };
  if (answer.ok) return { kind: 'answered', value: answer.value };
  if (answer.unavailable) return { kind: 'unanswered', pid: record.pid, host: record.host };
  throw new Error(answer.error);
}
