/**
 * A process that takes a data directory's lock, for the lock's tests:
 * `node lock-holder.js DIR [WAIT_MS]`. Prints one JSON line, {held, pid} or
 * {busy: message, pid}; while it holds the lock, "release" on stdin lets go
 * and exits, "release-slowly" first waits 1.5 s (an owner closing its database).
 */
import readline from 'node:readline';
import { lockDataDir } from '../../src/storage/data-dir-lock.js';

async function main(): Promise<void> {
  const [dir, waitMs] = process.argv.slice(2);
  let lock;
  try {
    lock = await lockDataDir(dir, { waitMs: waitMs === undefined ? undefined : Number(waitMs) });
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ busy: (err as Error).message, name: (err as Error).name, pid: process.pid })}\n`);
    return;
  }
  const held = lock;
  process.stdout.write(`${JSON.stringify({ held: true, pid: process.pid })}\n`);
  readline.createInterface({ input: process.stdin }).on('line', async (line) => {
    if (line === 'release-slowly') await new Promise((resolve) => setTimeout(resolve, 1_500));
    held.release();
    process.exit(0);
  });
}

void main();
