import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits';
import { AuthApi } from '../helpers/auth-api';
import { stylegraph } from '../helpers/cli-process';
import { makePng } from '../helpers/images';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy';

describe('stylegraph run --server on a server that requires a token', () => {
  let api: AuthApi;
  let proxy: RecordingProxy;
  let token: string;
  let dir: string;
  let content: string;
  let style: string;

  before(async () => {
    api = await AuthApi.start();
    token = await api.token('cli');
    proxy = await startRecordingProxy(api.server.url);
    dir = await mkdtemp(path.join(tmpdir(), 'stylegraph-client-'));
    content = path.join(dir, 'content.png');
    style = path.join(dir, 'style.png');
    await writeFile(content, await makePng(32, 24, 1));
    await writeFile(style, await makePng(24, 24, 2));
  });
  after(async () => {
    await proxy?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A tiny run on `server`; STYLEGRAPH_TOKEN unset unless `env` sets it. */
  function run(server: string, output: string, flags: string[] = [], env: NodeJS.ProcessEnv = {}, onStderr?: (stderr: string) => void) {
    return stylegraph(['run', content, style, '-o', output, '--server', server, '--max-dim', '32', '--epochs', '1', '--steps-per-epoch', '2', ...flags],
      { STYLEGRAPH_TOKEN: '', ...env }, onStderr);
  }

  it('uploads with uploadImage and sends --token on every request, download and subscription', async () => {
    const output = path.join(dir, 'flag.png');
    const result = await run(proxy.url, output, ['--token', token]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await sharp(await readFile(output)).metadata()).width, 32);

    const uploads = proxy.requests.filter((request) => request.headers['content-type']?.startsWith('multipart/form-data'));
    assert.equal(uploads.length, 2, 'one multipart request per image');
    for (const upload of uploads) {
      assert.equal(upload.headers['apollo-require-preflight'], 'true');
      assert.match(upload.body.toString('latin1'), /uploadImage\(file: \$file\)/);
    }
    assert.ok(!proxy.requests.some((request) => request.body.includes('createImage')), 'no data URLs');
    const plain = proxy.requests.filter((request) => !request.upgrade);
    assert.deepEqual([...new Set(plain.map((request) => request.headers.authorization))], [`Bearer ${token}`]);
    assert.ok(plain.some((request) => request.method === 'GET' && request.path.startsWith('/images/')), 'the result was downloaded');
    // The server takes a WebSocket's token from connectionParams only: the events came through this one.
    assert.equal(proxy.requests.filter((request) => request.upgrade).length, 1);

    const { runs } = await api.query(token, '{ runs(first: 5) { edges { node { status } } } }');
    assert.deepEqual(runs.edges.map((edge: { node: { status: string } }) => edge.node.status), ['SUCCEEDED']);
  });

  it('takes the token from STYLEGRAPH_TOKEN', async () => {
    const result = await run(api.server.url, path.join(dir, 'env.png'), [], { STYLEGRAPH_TOKEN: token });
    assert.equal(result.code, 0, result.stderr);
  });

  it('without a token, or with an unknown one, says in one line how to give one', async () => {
    const [missing, unknown] = await Promise.all([
      run(api.server.url, path.join(dir, 'none.png')),
      run(api.server.url, path.join(dir, 'unknown.png'), ['--token', 'sg_not-a-token']),
    ]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `stylegraph: ${api.server.url} requires an API token: give one with --token TOKEN or STYLEGRAPH_TOKEN`);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr.trim(), /^stylegraph: \S+ refused the API token \(unknown or revoked\); give a valid one with --token TOKEN or STYLEGRAPH_TOKEN$/);
  });

  it('names the file when the server refuses an upload', async () => {
    const small = await AuthApi.start({ role: 'api', config: { limits: { ...DEFAULT_API_LIMITS, maxImageBytes: 1500 } } });
    try {
      const result = await run(small.server.url, path.join(dir, 'refused.png'), ['--token', await small.token('cli')]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr.trim(), `stylegraph: ${content}: is 1969 bytes; this server accepts images of at most 1500 bytes`);
    } finally {
      await small.close();
    }
  });

  it('a token revoked while the run is followed ends the command with the same message', async () => {
    const revoked = await api.token('revoked-mid-run');
    let revoking: Promise<unknown> | undefined;
    const result = await run(api.server.url, path.join(dir, 'revoked.png'), ['--epochs', '1000'], { STYLEGRAPH_TOKEN: revoked }, (stderr) => {
      if (!revoking && stderr.includes('stylegraph: run ')) revoking = api.tokens.revoke('revoked-mid-run');
    });
    assert.ok(revoking, result.stderr);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim().split('\n').at(-1)!, /refused the API token \(unknown or revoked\); give a valid one with --token TOKEN or STYLEGRAPH_TOKEN$/);
    // The run goes on without its follower: cancelled here, so that it holds the worker from the next tests no longer.
    const id = /stylegraph: run ([0-9a-f-]{36})/.exec(result.stderr)![1];
    assert.equal((await api.service.runs.cancelRun(id))?.status, 'CANCELED');
  });

  it('through a dropped connection it subscribes again after the last event and prints each epoch once', async () => {
    const cutting = await startRecordingProxy(api.server.url);
    try {
      let cut = false;
      const result = await run(cutting.url, path.join(dir, 'cut.png'), ['--token', token, '--epochs', '6', '--steps-per-epoch', '4'], {}, (stderr) => {
        if (!cut && /epoch 1\/6 {2}step/.test(stderr)) {
          cut = true;
          cutting.cutWebSockets();
        }
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(cut, result.stderr);
      assert.ok(cutting.requests.filter((request) => request.upgrade).length >= 2, 'it reconnected');
      const subscribes = cutting.webSocketMessages.map((text) => JSON.parse(text) as { type: string; payload?: { variables?: { afterSequence?: number } } })
        .filter((message) => message.type === 'subscribe');
      // The run's creation, its start and at least the first epoch were seen before the cut.
      const [first, again] = subscribes.map((message) => message.payload?.variables?.afterSequence);
      assert.equal(subscribes.length, 2);
      assert.equal(first, 0);
      assert.ok(again !== undefined && again >= 3, `subscribed again after ${again}`);
      const epochLines = result.stderr.split('\n').map((line) => /^epoch (\d+)\/6 {2}step/.exec(line)?.[1]).filter(Boolean);
      assert.deepEqual(epochLines, ['1', '2', '3', '4', '5', '6']);
    } finally {
      await cutting.close();
    }
  });
});
