import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isLoopbackHost, resolveAuthPolicy } from '../../src/auth/policy.js';
import { RateLimiter, RateLimitError } from '../../src/auth/rate-limit.js';
import { ConfigError } from '../../src/config.js';
import { loadApiConfig } from '../../src/http/config.js';
import { startApiServer } from '../../src/http/server.js';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { AuthApi } from '../helpers/auth-api.js';
import { makePng } from '../helpers/images.js';

describe('auth policy', () => {
  test('off on loopback by default; required or explicitly off elsewhere', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3']) {
      assert.ok(isLoopbackHost(host));
      assert.deepEqual(resolveAuthPolicy(undefined, host), { mode: 'off' });
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.org']) {
      assert.ok(!isLoopbackHost(host));
      assert.throws(() => resolveAuthPolicy(undefined, host), ConfigError);
      assert.throws(() => resolveAuthPolicy('', host), /STYLEGRAPH_AUTH/);
      assert.deepEqual(resolveAuthPolicy('required', host), { mode: 'required' });
      const off = resolveAuthPolicy('off', host);
      assert.equal(off.mode, 'off');
      assert.match(off.warning ?? '', /WARNING/);
    }
    assert.throws(() => resolveAuthPolicy('maybe', '127.0.0.1'), /required.*off/);
    assert.throws(() => loadApiConfig({ HOST: '0.0.0.0' }), ConfigError);
    assert.equal(loadApiConfig({ HOST: '0.0.0.0', STYLEGRAPH_AUTH: 'required' }).auth?.mode, 'required');
  });

  test('a server on 0.0.0.0 without an auth setting refuses to start', async () => {
    const fake = { db: { prisma: {} }, runs: {} } as never;
    await assert.rejects(startApiServer(fake, { host: '0.0.0.0', port: 0, limits: DEFAULT_API_LIMITS }), ConfigError);
  });
});

describe('per-token limits', () => {
  let api: AuthApi | undefined;
  after(() => api?.close());

  test('requests over the rate get 429 with Retry-After; queued runs over the limit are refused, writing nothing', async () => {
    api = await AuthApi.start({ role: 'api', config: { rateLimit: { perMinute: 30, burst: 6 }, maxQueuedRuns: 1 } });
    const token = await api.token('busy');
    const other = await api.token('other');
    const png = `data:image/png;base64,${(await makePng(24, 24, 3)).toString('base64')}`;
    const image = (await api.query(token, 'mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: png })).createImage.id;
    const start = 'mutation($i: StartRunInput!) { startRun(input: $i) { id } }';
    const input = { contentImageId: image, styleImageIds: [image], maxDim: 24, epochs: 1, stepsPerEpoch: 1 };
    await api.query(token, start, { i: input });
    const refused = await api.request(token, start, { i: { ...input, seed: 2 } });
    assert.equal(refused.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.equal(refused.errors?.[0].extensions?.limit, 'queuedRuns');
    assert.ok(Number(refused.errors?.[0].extensions?.retryAfterSeconds) > 0);
    assert.equal(await api.service.db.prisma.run.count(), 1);
    let limited;
    for (let i = 0; i < 5 && !limited; i++) {
      const reply = await api.request(token, '{ serviceInfo { version } }');
      if (reply.status === 429) limited = reply;
    }
    assert.ok(limited, 'the burst of 6 is spent');
    assert.equal(limited.errors?.[0].extensions?.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(Number(limited.headers.get('retry-after')), limited.errors?.[0].extensions?.retryAfterSeconds);
    // Another token has its own bucket.
    assert.equal((await api.request(other, '{ serviceInfo { version } }')).status, 200);
  });

  test('the rate limiter refills over time, says when to retry, and never runs a bucket back in time', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const limiter = new RateLimiter(api!.service.db.sql, { perMinute: 60, burst: 2 }, () => now);
    await limiter.take('a');
    await limiter.take('a');
    await assert.rejects(limiter.take('a'), (err: RateLimitError) => err.retryAfterSeconds === 1 && err.limit === 'requests');
    await limiter.take('b');
    now += 1_000;
    await limiter.take('a');
    await assert.rejects(limiter.take('a'));
    // A process whose clock is behind refills nothing.
    const behind = new RateLimiter(api!.service.db.sql, { perMinute: 60, burst: 2 }, () => now - 5_000);
    await assert.rejects(behind.take('a'));
    now += 2_500;
    await limiter.take('a');
    await limiter.take('a');
    await assert.rejects(limiter.take('a'), (err: RateLimitError) => err.retryAfterSeconds === 1);
  });
});

describe('stylegraph tokens', () => {
  test('create prints a token once, list shows it, revoke refuses it', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stylegraph-tokens-'));
    const saved = { ...process.env };
    process.env.STYLEGRAPH_DATA_DIR = dataDir;
    delete process.env.DATABASE_URL;
    const out: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (line: string) => { out.push(String(line)); };
    console.error = () => {};
    try {
      const { tokensCommand } = await import('../../src/cli/tokens.js');
      assert.equal(await tokensCommand(['create', '--name', 'ci', '--admin']), 0);
      const token = out.pop()!;
      assert.match(token, /^sg_[A-Za-z0-9_-]{43}$/);
      assert.equal(await tokensCommand(['list']), 0);
      assert.match(out.pop()!, /"ci".*admin.*active/);
      assert.ok(!out.join('\n').includes(token.slice(3)), 'the token is never shown again');
      assert.equal(await tokensCommand(['revoke', 'ci']), 0);
      assert.match(out.pop()!, /revoked/);
      assert.equal(await tokensCommand(['revoke', 'nobody']), 1);
    } finally {
      console.log = log;
      console.error = err;
      process.env = saved;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
