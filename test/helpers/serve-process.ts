/** `stylegraph serve` as users start it: a child process, found ready by its "serving" log line. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Role } from '../../src/config.js';
import { REPO_ROOT, VGG19_PATH } from './shared-data.js';

const BIN = path.join(REPO_ROOT, 'bin/stylegraph.js');

export interface ServeProcess {
  child: ChildProcess;
  /** The GraphQL endpoint, for roles that serve the API. */
  graphql?: string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `stylegraph serve --role <role>` on a free port with `env` (the database, say) and waits until it serves. */
export function startServe(role: Role, env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--role', role], {
    env: {
      ...process.env, PORT: '0', STYLEGRAPH_VGG19: VGG19_PATH, STYLEGRAPH_LOG_FORMAT: 'json',
      STYLEGRAPH_QUEUE_POLLING_SECONDS: '1', ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`stylegraph serve --role ${role} exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as { msg?: string; graphql?: string };
      if (!line.msg?.startsWith('serving')) return;
      resolve({
        child,
        graphql: line.graphql,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
