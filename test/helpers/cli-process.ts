/** `stylegraph ...` as users run it: bin/stylegraph.js in a child process, its exit code and what it printed. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, VGG19_PATH } from './shared-data.js';

const BIN = path.join(REPO_ROOT, 'bin/stylegraph.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end; `onStderr` sees all of stderr so far each time more comes. */
export function stylegraph(args: string[], env: NodeJS.ProcessEnv = {}, onStderr?: (stderr: string) => void): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, STYLEGRAPH_VGG19: VGG19_PATH, STYLEGRAPH_BACKEND: 'wasm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    onStderr?.(stderr);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
