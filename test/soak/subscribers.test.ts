/**
 * 200 graphql-ws subscribers (each its own connection) on one tiny run each
 * receive every event; a client that stops reading delays no one, loses no
 * STATUS event, and holds a bounded number of events on the server.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { EventChannel } from '../../src/graphql/event-channel.js';
import { TestApi } from '../graphql/harness.js';
import { eventsUntilFinished } from '../helpers/service.js';

const SUBSCRIBERS = 200;
const EVENTS = 'subscription($id: ID!) { runEvents(runId: $id) { sequence kind status epoch { epoch totalLoss } } }';

describe('subscription soak', () => {
  let api: TestApi;
  const clients: Client[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await api?.close();
  });

  test('a channel bounds what it holds for a slow reader, dropping only droppable values', async () => {
    const drops: number[] = [];
    const channel = new EventChannel<{ n: number; status: boolean }>(() => {}, { maxQueued: 16, droppable: (v) => !v.status, onDrop: (v) => drops.push(v.n) });
    for (let n = 0; n < 100_000; n++) channel.push({ n, status: n % 10_000 === 0 });
    assert.ok(channel.queued <= 16 + 10, `${channel.queued} queued`);
    const held: { n: number; status: boolean }[] = [];
    channel.end();
    for await (const value of channel) held.push(value);
    assert.deepEqual(held.filter((v) => v.status).map((v) => v.n), [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000]);
    assert.equal(held.at(-1)?.n, 99_999);
    assert.equal(drops.length + held.length, 100_000);
  });

  test(`${SUBSCRIBERS} subscribers each get every event; a stalled client loses previews only`, async () => {
    api = await TestApi.start('pglite', { concurrency: 1 });
    const service = api.service;
    const [content, style] = [await api.createImage(1), await api.createImage(2)];
    const start = (params: object) => api.query('mutation($i: StartRunInput!) { startRun(input: $i) { id } }', { i: { contentImageId: content, styleImageIds: [style], ...params } });
    // The worker is kept busy until every subscriber is in, so all of them see the run from its start.
    // EPOCH events shed for slow subscribers, as the service's metric counts them.
    const shed = async () => (await service.telemetry.metrics.eventsDropped.get()).values.find((v) => v.labels.reason === 'slow')?.value ?? 0;
    const shedBefore = await shed();
    const blocker = (await start({ maxDim: 32, epochs: 50, stepsPerEpoch: 50 })).startRun.id;
    const target = (await start({ maxDim: 32, epochs: 2, stepsPerEpoch: 2, seed: 3 })).startRun.id;
    const onBus = eventsUntilFinished(service, target, 120_000);
    let subscribed = 0;
    const subscribe = service.runs.events.subscribe.bind(service.runs.events);
    service.runs.events.subscribe = (runId, listener) => {
      if (runId === target) subscribed++;
      return subscribe(runId, listener);
    };

    // The stalled client: subscribes, then stops reading its socket.
    const stalled = new WebSocket(`${api.server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const stalledMessages: { type: string; payload?: { data?: { runEvents?: { kind: string; status: string } } } }[] = [];
    stalled.on('message', (data) => stalledMessages.push(JSON.parse(String(data))));
    await new Promise((resolve) => stalled.once('open', resolve));
    stalled.send(JSON.stringify({ type: 'connection_init' }));
    while (!stalledMessages.some((m) => m.type === 'connection_ack')) await new Promise((resolve) => setTimeout(resolve, 10));
    stalled.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: EVENTS, variables: { id: target } } }));

    const heapBefore = process.memoryUsage().heapUsed;
    const received = Array.from({ length: SUBSCRIBERS }, () => [] as { sequence: number; kind: string; status: string }[]);
    const done = received.map((events) => {
      const client = createClient({ url: `${api.server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      return new Promise<void>((resolve, reject) => {
        client.subscribe<{ runEvents: { sequence: number; kind: string; status: string } }>({ query: EVENTS, variables: { id: target } }, {
          next: (r) => (r.errors ? reject(new Error(JSON.stringify(r.errors))) : events.push({ sequence: r.data!.runEvents.sequence, kind: r.data!.runEvents.kind, status: r.data!.runEvents.status })),
          error: reject,
          complete: resolve,
        });
      });
    });
    const deadline = Date.now() + 30_000;
    while (subscribed < SUBSCRIBERS + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(subscribed, SUBSCRIBERS + 1, 'every subscriber is in');
    (stalled as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    await api.query('mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: blocker });

    await Promise.all(done);
    const bus = await onBus;
    // The run's creation (QUEUED, event 1) is replayed, then the events published while they listened.
    const expected = [{ sequence: 1, kind: 'STATUS' }, ...bus.filter((e) => e.seq > 1).map((e) => ({ sequence: e.seq, kind: e.type === 'epoch' ? 'EPOCH' : 'STATUS' }))];
    assert.deepEqual(expected.map((e) => e.kind), ['STATUS', 'STATUS', 'EPOCH', 'EPOCH', 'STATUS']);
    for (const events of received) assert.deepEqual(events.map(({ sequence, kind }) => ({ sequence, kind })), expected);
    assert.equal(received[0].at(-1)?.status, 'SUCCEEDED');
    // 200 subscribers of a finished run hold nothing: memory is back near where it was.
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 200 * 1024 * 1024);

    // The stalled client held up no one (everyone above is done); now it reads what was kept for it.
    (stalled as unknown as { _socket: { resume(): void } })._socket.resume();
    const waitUntil = Date.now() + 10_000;
    while (!stalledMessages.some((m) => m.type === 'complete') && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 50));
    const statuses = stalledMessages.filter((m) => m.payload?.data?.runEvents?.kind === 'STATUS').map((m) => m.payload!.data!.runEvents!.status);
    assert.deepEqual(statuses, ['QUEUED', 'RUNNING', 'SUCCEEDED']);
    // Each of its epochs either reached it or was counted as shed.
    const epochsSeen = stalledMessages.filter((m) => m.payload?.data?.runEvents?.kind === 'EPOCH').length;
    assert.ok(epochsSeen <= 2 && epochsSeen + (await shed()) - shedBefore >= 2, `seen ${epochsSeen}, shed ${(await shed()) - shedBefore}`);
    stalled.close();
  });
});
