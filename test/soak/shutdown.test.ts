import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { TestApi } from '../graphql/harness.js';

describe('graceful shutdown under load', () => {
  let api: TestApi | undefined;
  after(async () => { await api?.service.close(); });

  test('close() while requests and subscriptions are in flight: no crash, no 5xx, sockets closed with 1001', async () => {
    api = await TestApi.start('pglite', { role: 'api' });
    const [content, style] = [await api.createImage(1), await api.createImage(2)];
    const run = (await api.query('mutation($i: StartRunInput!) { startRun(input: $i) { id } }', {
      i: { contentImageId: content, styleImageIds: [style], maxDim: 24, epochs: 1, stepsPerEpoch: 1 },
    })).startRun.id;
    const wsUrl = `${api.server.url.replace(/^http/, 'ws')}/graphql`;
    const sockets = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once("open", resolve));
      const acked = new Promise((resolve) => socket.once('message', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await acked;
      socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: 'subscription($id: ID!) { runEvents(runId: $id) { sequence } }', variables: { id: run } } }));
      return { closed };
    }));
    const statuses: (number | 'refused')[] = [];
    let stop = false;
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          const response = await fetch(api!.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ serviceInfo { queueLength } runs { edges { node { id } } } }' }) });
          await response.text();
          statuses.push(response.status);
        } catch {
          statuses.push('refused');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await api.server.close();
    const closeMs = Date.now() - started;
    stop = true;
    await Promise.all(load);
    const codes = await Promise.all(sockets.map((socket) => socket.closed));
    assert.ok(closeMs < 15_000, `close took ${closeMs} ms`);
    assert.deepEqual([...new Set(codes)], [1001]);
    assert.ok(statuses.filter((s) => s === 200).length > 0);
    assert.deepEqual(statuses.filter((s) => typeof s === 'number' && s >= 500), []);
    // The service behind it is still fine (and stops cleanly in after()).
    assert.equal(await api.service.db.prisma.run.count(), 1);
  });
});
