import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DataDirBusyError, lockDataDir } from '../../src/storage/data-dir-lock.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-lock-'));

test('a data directory is locked against a second opener until released', () => {
  const dir = tempDir();
  const lock = lockDataDir(dir);
  assert.throws(() => lockDataDir(dir), DataDirBusyError);
  lock.release();
  lockDataDir(dir).release();
  fs.rmSync(dir, { recursive: true });
});

test('a lock held by a live process is respected; a dead one\'s is taken over', async () => {
  const dir = tempDir();
  const lockFile = path.join(dir, 'stylegraph.pid');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    fs.writeFileSync(lockFile, String(sleeper.pid));
    assert.throws(() => lockDataDir(dir), (err: unknown) => err instanceof DataDirBusyError && err.pid === sleeper.pid);
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
  }
  const lock = lockDataDir(dir);
  assert.equal(fs.readFileSync(lockFile, 'utf8'), String(process.pid));
  lock.release();
  assert.equal(fs.existsSync(lockFile), false);
  fs.rmSync(dir, { recursive: true });
});
