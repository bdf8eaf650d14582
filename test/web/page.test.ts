/**
 * The web page in a real browser against a fresh service: upload tiny
 * images, start a run, watch the preview repaint and the loss curves grow,
 * find the result in the gallery, clone it with a change that the server
 * refuses (shown by the field) and one it accepts. Screenshots at desktop and
 * phone widths go to STYLEGRAPH_ARTIFACTS_DIR (default test-artifacts/).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_API_LIMITS } from '../../src/runs/limits.js';
import { startApiServer, type ApiServer } from '../../src/http/server.js';
import { WEB_ROOT } from '../../src/web/static.js';
import { ARTIFACTS_DIR, browserMissing, launchBrowser, loadAllImages, watchConsole, type TestBrowser } from '../helpers/browser.js';
import { makePng } from '../helpers/images.js';
import { startTestService, type TestService } from '../helpers/service.js';

const RUN_TIMEOUT_MS = 120_000;

// The callbacks given to page.evaluate/waitForFunction run in the browser; this
// Node-side file compiles without the DOM library, so name its globals here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const location: any;
declare const MutationObserver: any;

/**
 * Records every value an attribute of the element matching `selector` takes from now on, even
 * several within one task: each mutation record keeps the value it replaced.
 */
async function recordAttribute(page: Page, selector: string, attribute: string, key: string): Promise<void> {
  await page.evaluate(({ selector, attribute, key }) => {
    const element = document.querySelector(selector);
    const replaced: (string | null)[] = [];
    window[key] = { element, attribute, replaced };
    new MutationObserver((records: { oldValue: string | null }[]) => {
      for (const record of records) replaced.push(record.oldValue);
    }).observe(element, { attributes: true, attributeFilter: [attribute], attributeOldValue: true });
  }, { selector, attribute, key });
}

/** The values recorded so far, the current one last, repeats collapsed. */
function recorded(page: Page, key: string): Promise<(string | null)[]> {
  return page.evaluate((key) => {
    const { element, attribute, replaced } = window[key];
    const values: (string | null)[] = [...replaced, element.getAttribute(attribute)];
    return values.filter((value, i) => i === 0 || value !== values[i - 1]);
  }, key);
}

/** Waits for the shown run to finish; a failed run fails the test with its error. */
async function waitForRunEnd(page: Page, runId: string): Promise<void> {
  await page.waitForSelector(`.run-view[data-run-id="${runId}"]:is([data-status="SUCCEEDED"], [data-status="FAILED"], [data-status="CANCELED"])`, { timeout: RUN_TIMEOUT_MS });
  const status = await page.locator('.run-view').getAttribute('data-status');
  assert.equal(status, 'SUCCEEDED', `the run ended ${status}: ${await page.locator('.run-message').innerText()}`);
}

describe('web page', { skip: browserMissing() }, () => {
  let service: TestService;
  let api: ApiServer;
  let browser: TestBrowser;
  let files: string;

  before(async () => {
    assert.ok(existsSync(path.join(WEB_ROOT, 'index.html')), 'the page is built (npm run build:web)');
    service = await startTestService('pglite');
    api = await startApiServer(service, { host: '127.0.0.1', port: 0, limits: DEFAULT_API_LIMITS });
    browser = await launchBrowser();
    files = mkdtempSync(path.join(os.tmpdir(), 'stylegraph-page-'));
    writeFileSync(path.join(files, 'content.png'), await makePng(32, 32, 3));
    writeFileSync(path.join(files, 'style.png'), await makePng(32, 32, 11));
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await api?.close();
    await service?.close();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('is served by the API server itself', async () => {
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 200, 'GET / serves the page: src/http/server.ts calls serveWebPage (src/web/static.ts)');
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<title>stylegraph/);
  });

  it('starts a run, repaints the preview and grows the curves each epoch, and shows the result in the gallery', { timeout: 4 * RUN_TIMEOUT_MS }, async () => {
    const page = await browser.context.newPage();
    const problems = watchConsole(page);
    try {
      await startAndWatch(page, problems);
    } catch (error) {
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'page-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
    await atPhoneWidth();
  });

  it('says under Start what the run would take, refuses a size too large for the server with the largest that fits, and offers quicker settings', { timeout: RUN_TIMEOUT_MS }, async () => {
    const page = await browser.context.newPage();
    const problems = watchConsole(page);
    try {
      await page.goto(`${api.url}/`);
      await page.getByRole('button', { name: /^Use .* as content$/ }).first().click();
      await page.getByRole('button', { name: /^Use .* as style$/ }).first().click();
      const estimate = page.locator('#run-estimate');
      // The form opens on settings that paint quickly on a CPU (L-BFGS, 256 px, 40 steps), not on the tutorial's hours.
      assert.equal(await page.getByLabel('Optimizer').inputValue(), 'LBFGS');
      await estimate.getByText(/^About .* · 40 steps ·/).waitFor();
      // An engine measured itself for the run of the test before: the estimate has seconds.
      await page.getByLabel('Size (px)').fill('64');
      await page.getByLabel('Epochs', { exact: true }).fill('2');
      await page.getByLabel('Steps per epoch').fill('3');
      await estimate.getByText(/^About .* on CPU \(WebAssembly SIMD, \d+ threads?\) · 6 steps · [\d.]+ GiB$/).waitFor();

      await page.getByLabel('Size (px)').fill('2000');
      await estimate.getByText(/^Too large for this server's memory: at most \d+ px with these images\.$/).waitFor();
      const largest = Number((await estimate.innerText()).match(/at most (\d+) px/)![1]);
      assert.ok(largest > 512 && largest < 2000, `largest ${largest}`);
      await estimate.getByRole('button', { name: `Use ${largest} px` }).click();
      assert.equal(await page.getByLabel('Size (px)').inputValue(), String(largest));

      // The tutorial's 512 px x 1000 steps take long on a CPU: flagged, with a quicker setting.
      await page.getByLabel('Size (px)').fill('512');
      await page.getByLabel('Epochs', { exact: true }).fill('10');
      await page.getByLabel('Steps per epoch').fill('100');
      await estimate.getByText('That is a long run on this server.').waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'page-estimate-long.png'), fullPage: true });
      await page.getByLabel('Optimizer').selectOption('ADAM');
      await estimate.getByRole('button', { name: /Use quick settings/ }).click();
      assert.equal(await page.getByLabel('Optimizer').inputValue(), 'LBFGS');
      assert.deepEqual(
        [await page.getByLabel('Size (px)').inputValue(), await page.getByLabel('Epochs', { exact: true }).inputValue(), await page.getByLabel('Steps per epoch').inputValue()],
        ['256', '4', '10']);
      await estimate.getByText(/^About .* · 40 steps ·/).waitFor();
      assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
    } finally {
      await page.close();
    }
  });

  let runId = '';

  async function startAndWatch(page: Page, problems: string[]): Promise<void> {
    await page.goto(`${api.url}/`);
    await page.getByRole('heading', { name: 'Gallery' }).waitFor();
    await page.getByText('No runs yet').waitFor();

    // Upload a content and a style image; set tiny parameters.
    await page.getByLabel('Upload content image').setInputFiles(path.join(files, 'content.png'));
    await page.getByLabel('Upload style images').setInputFiles(path.join(files, 'style.png'));
    await page.getByRole('img', { name: 'content image', exact: true }).waitFor();
    await page.getByRole('img', { name: 'style image 1', exact: true }).waitFor();
    await page.waitForSelector('.slot-pending', { state: 'detached' });
    await page.getByLabel('Size (px)').fill('32');
    await page.getByLabel('Epochs', { exact: true }).fill('3');
    await page.getByLabel('Steps per epoch').fill('2');
    await page.getByLabel('Seed', { exact: true }).fill('7');

    await recordAttribute(page, '#preview', 'src', 'previewSrcs');
    await recordAttribute(page, '.chart', 'data-points', 'chartPoints');
    await page.getByRole('button', { name: 'Start run' }).click();

    await page.waitForFunction(() => location.hash.startsWith('#/runs/'));
    runId = decodeURIComponent(page.url().split('#/runs/')[1]);
    // The run view's top is in view and its heading has the focus: where the user goes on.
    await page.waitForFunction(() => document.activeElement?.id === 'run-title');
    assert.ok(await page.evaluate(() => {
      const top = document.querySelector('.run-view')!.getBoundingClientRect().top;
      return top >= 0 && top < window.innerHeight / 2;
    }), 'the run view is scrolled into view');
    await waitForRunEnd(page, runId);

    // The preview changed with the epochs: the content image first, then new previews, then the result.
    const srcs = (await recorded(page, 'previewSrcs')).filter((src): src is string => Boolean(src));
    assert.ok(new Set(srcs).size >= 3, `the preview changed at least twice: ${JSON.stringify(srcs)}`);
    const run = await (await fetch(`${api.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($id: ID!) { run(id: $id) { resultImage { url } contentImage { url } epochs { preview { url } } } }', variables: { id: runId } }),
    })).json() as { data: { run: { resultImage: { url: string }; contentImage: { url: string }; epochs: { preview: { url: string } }[] } } };
    const epochPreviews = run.data.run.epochs.map((e) => e.preview.url);
    assert.equal(epochPreviews.length, 3);
    assert.ok(srcs.some((src) => epochPreviews.includes(src)), 'an epoch preview was shown while the run went on');
    assert.equal(srcs.at(-1), run.data.run.resultImage.url, 'the result is shown at the end');

    // The curves grew point by point (one redraw per epoch), four series on a log scale.
    const points = (await recorded(page, 'chartPoints')).filter((p): p is string => p !== null).map(Number);
    assert.deepEqual(points.filter((p) => p > 0), [1, 2, 3], `points appeared one by one: ${JSON.stringify(points)}`);
    await page.locator('.chart canvas').waitFor();
    for (const series of ['Total', 'Content', 'Style', 'TV']) {
      await page.locator('.chart .u-legend').getByText(series, { exact: false }).first().waitFor();
    }
    assert.equal(await page.locator('.chart .u-legend').getByText('Temporal').count(), 0, 'a still image has no temporal term');
    assert.equal(await page.locator('.epoch-strip .epoch-thumb').count(), 3);
    assert.match(await page.locator('.progress-label').innerText(), /Epoch 3 \/ 3/);

    // The gallery shows the run with its final image.
    const card = page.locator(`.run-card[data-run-id="${runId}"]`);
    await page.waitForSelector(`.run-card[data-run-id="${runId}"][data-status="SUCCEEDED"] img.result`);
    assert.equal(await card.locator('img.result').getAttribute('src'), run.data.run.resultImage.url);
    await loadAllImages(page);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'page-desktop.png'), fullPage: true });

    // Open from the gallery, far below: the run view comes into view with its heading focused.
    await page.evaluate(() => { (document.activeElement as any)?.blur?.(); window.scrollTo(0, 0); });
    await card.getByRole('button', { name: 'Open', exact: true }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'run-title');
    assert.ok(await page.evaluate(() => Math.abs(document.querySelector('.run-view')!.getBoundingClientRect().top) < window.innerHeight / 2));

    // Clone with a change the server refuses: its message appears by the field it names.
    await page.getByRole('button', { name: 'Clone with changes' }).click();
    await page.getByText(/Copy of run/).waitFor();
    await page.getByText('More settings').click();
    await page.getByLabel('Scales').fill('3');
    await page.getByRole('button', { name: 'Start run' }).click();
    const scalesError = page.locator('.field:has(input[name="multiscale"]) .field-error');
    await scalesError.waitFor({ state: 'visible' });
    assert.match(await scalesError.innerText(), /multiscale|scale/i);
    assert.equal(await page.getByLabel('Scales').getAttribute('aria-invalid'), 'true');

    // ... and one it accepts: a second run, started from the first one's images and parameters.
    await page.getByLabel('Scales').fill('1');
    await page.getByLabel('Epochs', { exact: true }).fill('2');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForFunction((first) => location.hash.startsWith('#/runs/') && !location.hash.endsWith(first), runId);
    await waitForRunEnd(page, decodeURIComponent(page.url().split('#/runs/')[1]));
    await page.waitForFunction(() => document.querySelectorAll('.run-card[data-status="SUCCEEDED"]').length === 2);

    // Filter the gallery by status.
    await page.getByLabel('Show', { exact: true }).selectOption('FAILED');
    await page.getByText('No failed runs.').waitFor();
    await page.getByLabel('Show', { exact: true }).selectOption('SUCCEEDED');
    await page.waitForFunction(() => document.querySelectorAll('.run-card').length === 2);

    assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
  }

  /** At phone width: the first run, opened by its address; nothing wider than the screen. */
  async function atPhoneWidth(): Promise<void> {
    const phone = await browser.context.newPage();
    const phoneProblems = watchConsole(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${api.url}/#/runs/${runId}`);
    await phone.waitForSelector('.run-view[data-status="SUCCEEDED"]');
    await phone.waitForSelector('.chart canvas');
    await phone.waitForSelector(`.run-card[data-run-id="${runId}"] img.result`);
    await loadAllImages(phone);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow} px too wide)`);
    await phone.screenshot({ path: path.join(ARTIFACTS_DIR, 'page-phone.png'), fullPage: true });
    await phone.locator('.run-view').screenshot({ path: path.join(ARTIFACTS_DIR, 'page-phone-run.png') });
    assert.deepEqual(phoneProblems, []);
    await phone.close();
  }
});
