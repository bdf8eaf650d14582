import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { initBackend } from '../../src/engine';
import { REPO_ROOT, sharedImagePath, VGG19_PATH } from '../helpers/shared-data';

const run = promisify(execFile);

describe('threaded WebAssembly', () => {
  let dir: string;
  let content: string;
  let style: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stylegraph-threads-'));
    content = path.join(dir, 'content.png');
    style = path.join(dir, 'style.png');
    await sharp(sharedImagePath('tubingen.jpg')).resize(32, 32, { fit: 'inside' }).toFile(content);
    await sharp(sharedImagePath('starry_night.jpg')).resize(32, 32, { fit: 'inside' }).toFile(style);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // If an upgrade of tfjs breaks the way threads are switched on, this fails instead of the engine quietly running on one.
  it('runs XNNPACK on the threads asked for and says so', async () => {
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    assert.equal(wasm.getThreadsCount(), 2);
    assert.equal(info.threads, 2);
    assert.equal(info.device, 'CPU (WebAssembly SIMD, 2 threads)');
    await assert.rejects(initBackend({ backend: 'wasm', threads: 3 }), /already runs 2 threads/);
  });

  for (const optimizer of ['adam', 'lbfgs']) {
    it(`gives bit-identical losses and images on 1 and 2 threads, and the process exits by itself (${optimizer})`, async () => {
      const outputs = await Promise.all([1, 2].map(async (threads) => {
        const output = path.join(dir, `${optimizer}-${threads}.png`);
        // execFile resolves only once the process has exited: pthread workers that kept it alive would time out here.
        const { stdout, stderr } = await run(process.execPath, [
          path.join(REPO_ROOT, 'bin/stylegraph.js'), 'stylize', content, style, '-o', output,
          '--max-dim', '32', '--epochs', '2', '--steps-per-epoch', '3', '--optimizer', optimizer, '--json',
        ], { env: { ...process.env, STYLEGRAPH_VGG19: VGG19_PATH, STYLEGRAPH_BACKEND: 'wasm', STYLEGRAPH_THREADS: String(threads) }, timeout: 120_000 });
        assert.match(stderr, new RegExp(`WebAssembly SIMD, ${threads} threads?\\)`));
        const losses = stdout.trim().split('\n').map((line) => {
          const { ms: _ms, ...rest } = JSON.parse(line);
          return rest;
        });
        return { losses, png: await readFile(output) };
      }));
      assert.equal(outputs[0].losses.length, 2);
      assert.equal(outputs[0].losses[0].optimizer, optimizer);
      assert.deepEqual(outputs[1].losses, outputs[0].losses);
      assert.ok(outputs[1].png.equals(outputs[0].png), 'the same PNG bytes');
    });
  }
});
