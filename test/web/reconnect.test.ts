/**
 * The page following a run through a dropped connection, in a real browser:
 * the WebSocket is cut (by Playwright, between page and server) after the
 * first epoch; graphql-ws reconnects and subscribes again, after the last
 * event the page saw, so no event comes twice and the run is shown to its end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserMissing, launchBrowser, watchConsole, type TestBrowser } from '../helpers/browser.js';
import { TestApi } from '../graphql/harness.js';

const EPOCHS = 10;

interface Message { id?: string; type: string; payload?: { variables?: { afterSequence?: number }; data?: { runEvents?: { sequence: number; kind: string } } } }

describe('the page through a dropped connection', { skip: browserMissing() }, () => {
  let api: TestApi;
  let browser: TestBrowser;
  before(async () => {
    api = await TestApi.start('pglite');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  test('resubscribes after the last event it saw: every event once, every epoch shown', { timeout: 180_000 }, async () => {
    const [content, style] = [await api.createImage(1), await api.createImage(2)];
    const { startRun } = await api.query('mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
      { input: { contentImageId: content, styleImageIds: [style], maxDim: 32, epochs: EPOCHS, stepsPerEpoch: 4 } });
    const page = await browser.context.newPage();
    const problems = watchConsole(page);
    // Per connection: what the page asked for, and what reached it.
    const connections: { subscribes: Message[]; received: Message[] }[] = [];
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      const connection = { subscribes: [] as Message[], received: [] as Message[] };
      connections.push(connection);
      const server = ws.connectToServer();
      ws.onMessage((text) => {
        const message = JSON.parse(String(text)) as Message;
        if (message.type === 'subscribe') connection.subscribes.push(message);
        server.send(text);
      });
      let cut = false;
      server.onMessage((text) => {
        if (cut) return; // nothing more reaches the page on a cut connection
        const message = JSON.parse(String(text)) as Message;
        // The page's steps come on a subscription of their own that selects no sequence: the numbered events must arrive once each.
        if (typeof message.payload?.data?.runEvents?.sequence === 'number') connection.received.push(message);
        ws.send(text);
        // 1012 (service restart): a close graphql-ws retries after, as after a proxy or a server going away.
        if (connections.length === 1 && message.payload?.data?.runEvents?.kind === 'EPOCH') {
          cut = true;
          void ws.close({ code: 1012, reason: 'cut by the test' });
        }
      });
    });
    await page.goto(`${api.server.url}/#/runs/${startRun.id}`);
    await page.waitForSelector(`.run-view[data-run-id="${startRun.id}"][data-status="SUCCEEDED"]`, { timeout: 150_000 });

    assert.ok(connections.length >= 2, 'the page reconnected');
    const sequenceOf = (message: Message) => message.payload!.data!.runEvents!.sequence;
    const before = connections[0].received.map(sequenceOf);
    const resubscribe = connections[1].subscribes.find((message) => message.payload?.variables?.afterSequence !== undefined);
    assert.equal(resubscribe?.payload?.variables?.afterSequence, before.at(-1), 'the new subscription starts after the last event seen');
    const all = connections.flatMap((connection) => connection.received.map(sequenceOf));
    assert.deepEqual(all, [...new Set(all)].sort((a, b) => a - b), 'each event reached the page once, in order');
    assert.equal(await page.locator('.epoch-strip .epoch-thumb').count(), EPOCHS);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
