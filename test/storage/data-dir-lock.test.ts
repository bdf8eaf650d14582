import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { DataDirBusyError, lockDataDir } from '../../src/storage/data-dir-lock.js';

const HOLDER = path.join(__dirname, '../helpers/lock-holder.js');
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'stylegraph-lock-'));

interface Holder {
  child: ChildProcess;
  said: { held?: true; busy?: string; name?: string; pid: number };
  exited: Promise<unknown>;
}

/** test/helpers/lock-holder.js in a child process (in pid namespace of its own with `inNamespace`), once it said whether it holds the lock. */
function holder(dir: string, options: { waitMs?: number; inNamespace?: boolean } = {}): Promise<Holder> {
  const args = [HOLDER, dir, ...(options.waitMs === undefined ? [] : [String(options.waitMs)])];
  const child = options.inNamespace
    ? spawn('unshare', ['-p', '-f', '--mount-proc', process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    void exited.then(() => reject(new Error('the lock holder exited without a word')));
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, said: JSON.parse(line), exited }));
  });
}

const unshareWorks = () => spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;

test('a data directory is locked against a second opener until released; its socket is the owner\'s alone', async () => {
  const dir = tempDir();
  const lock = await lockDataDir(dir);
  await assert.rejects(lockDataDir(dir, { waitMs: 200 }), DataDirBusyError);
  const sockets = fs.readdirSync(dir).filter((name) => name.endsWith('.sock'));
  assert.equal(sockets.length, 1, 'the refused starter leaves no socket behind');
  assert.equal(fs.statSync(path.join(dir, sockets[0])).mode & 0o777, 0o600);
  lock.release();
  (await lockDataDir(dir, { waitMs: 0 })).release();
  fs.rmSync(dir, { recursive: true });
});

test('two processes that are both pid 1 (separate pid namespaces): the second is refused until the first lets go', async (t) => {
  if (!unshareWorks()) return t.skip('unshare -p -f --mount-proc is not available here (needs root or user namespaces)');
  const dir = tempDir();
  const first = await holder(dir, { inNamespace: true });
  assert.deepEqual(first.said, { held: true, pid: 1 });
  const second = await holder(dir, { inNamespace: true, waitMs: 300 });
  assert.equal(second.said.pid, 1);
  assert.equal(second.said.name, 'DataDirBusyError');
  assert.equal(second.said.busy, new DataDirBusyError(dir, 1, os.hostname()).message);
  await second.exited;
  first.child.stdin!.write('release\n');
  await first.exited;
  const third = await holder(dir, { inNamespace: true, waitMs: 300 });
  assert.deepEqual(third.said, { held: true, pid: 1 });
  third.child.stdin!.write('release\n');
  await third.exited;
  fs.rmSync(dir, { recursive: true });
});

test('a lock left by a kill -9ed owner is taken over at once, by one of several starters', async () => {
  const dir = tempDir();
  const owner = await holder(dir);
  assert.equal(owner.said.held, true);
  owner.child.kill('SIGKILL');
  await owner.exited;
  const started = Date.now();
  const starters = await Promise.all([1, 2, 3, 4].map(() => holder(dir, { waitMs: 1_000 })));
  const winners = starters.filter((starter) => starter.said.held);
  assert.equal(winners.length, 1, JSON.stringify(starters.map((starter) => starter.said)));
  assert.ok(starters.every((starter) => starter.said.held || starter.said.name === 'DataDirBusyError'));
  winners[0].child.stdin!.write('release\n');
  await Promise.all(starters.map((starter) => starter.exited));
  const lock = await lockDataDir(dir, { waitMs: 0 });
  assert.ok(Date.now() - started < 5_000);
  const left = fs.readdirSync(dir).sort();
  assert.equal(left.length, 2, `one record and one socket, the dead owner's gone: ${left}`);
  assert.match(left[0], /^sg-[0-9a-f]+\.sock$/);
  assert.match(left[1], /^stylegraph\.lock\.\d+$/);
  lock.release();
  fs.rmSync(dir, { recursive: true });
});

test('a zombie owner (dead, not yet reaped by its parent) is gone: its lock is taken over at once', async () => {
  const dir = tempDir();
  // The holder's parent becomes `sleep`, which never reaps it.
  const parent = spawn('sh', ['-c', `"${process.execPath}" "${HOLDER}" "${dir}" & exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const said = await new Promise<{ held?: true; pid: number }>((resolve) => readline.createInterface({ input: parent.stdout! }).once('line', (line) => resolve(JSON.parse(line))));
    assert.equal(said.held, true);
    process.kill(said.pid, 'SIGKILL');
    const state = () => fs.readFileSync(`/proc/${said.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
    while (state() !== 'Z') await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    const lock = await lockDataDir(dir, { waitMs: 3_000 });
    assert.ok(Date.now() - started < 1_000, 'not waited for');
    lock.release();
  } finally {
    parent.kill('SIGKILL');
  }
  fs.rmSync(dir, { recursive: true });
});

test('an owner that is letting go (closing its database) is waited for, not refused', async () => {
  const dir = tempDir();
  const owner = await holder(dir);
  owner.child.stdin!.write('release-slowly\n');
  const started = Date.now();
  const lock = await lockDataDir(dir);
  assert.ok(Date.now() - started >= 1_000, 'it waited for the owner to let go');
  lock.release();
  await owner.exited;
  fs.rmSync(dir, { recursive: true });
});

test('a pid lock file of an older version is respected while its process lives, then removed', async () => {
  const dir = tempDir();
  const legacy = path.join(dir, 'stylegraph.pid');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    fs.writeFileSync(legacy, String(sleeper.pid));
    await assert.rejects(lockDataDir(dir, { waitMs: 0 }), (err: unknown) => err instanceof DataDirBusyError && err.pid === sleeper.pid);
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
  }
  const lock = await lockDataDir(dir, { waitMs: 0 });
  assert.equal(fs.existsSync(legacy), false);
  lock.release();
  fs.rmSync(dir, { recursive: true });
});

test('a data directory whose path is too long for a socket address is locked all the same', async () => {
  const dir = path.join(tempDir(), 'd'.repeat(60), 'e'.repeat(60));
  const lock = await lockDataDir(dir);
  await assert.rejects(lockDataDir(dir, { waitMs: 0 }), DataDirBusyError);
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), [path.basename(dir)], 'no socket at a truncated path');
  lock.release();
  (await lockDataDir(dir, { waitMs: 0 })).release();
  fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true });
});
