/**
 * What a first-time user meets on the page, in a real browser against a
 * fresh service with the real fast-style networks: the presets, a run that
 * waits, runs and is canceled, a finished run replayed, the keyboard's path,
 * and axe-core in every main state (empty form, errors, queued, running,
 * done, canceled, gallery, phone), each state's screenshot saved to
 * STYLEGRAPH_ARTIFACTS_DIR (default test-artifacts/) as a11y-<state>.png.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { imageDataUrl } from '../helpers/auth-api.js';
import { assertAccessible, assertFocusRings, assertTapTargets } from '../helpers/axe.js';
import { ARTIFACTS_DIR, browserMissing, watchConsole } from '../helpers/browser.js';
import { makePng } from '../helpers/images.js';
import { startPageTestbed, type PageTestbed } from '../helpers/page-testbed.js';

const RUN_TIMEOUT_MS = 120_000;

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const location: any;
declare const getComputedStyle: any;

describe('the page for a first-time user', { skip: browserMissing() }, () => {
  let bed: PageTestbed;
  let api: PageTestbed['api'];
  let gql: PageTestbed['gql'];
  let content = '';
  let style = '';

  async function startRun(input: Record<string, unknown>): Promise<string> {
    const { startRun } = await gql('mutation($input: StartRunInput!) { startRun(input: $input) { id } }',
      { input: { contentImageId: content, styleImageIds: [style], maxDim: 32, ...input } });
    return startRun.id;
  }

  async function waitForStatus(page: Page, runId: string, status: string): Promise<void> {
    await page.waitForSelector(`.run-view[data-run-id="${runId}"][data-status="${status}"]`, { timeout: RUN_TIMEOUT_MS });
  }

  /** Opens a page on the service, failing the test with what the console said if anything went wrong there. */
  async function withPage(name: string, body: (page: Page, problems: string[]) => Promise<void>, viewport?: { width: number; height: number }): Promise<void> {
    const page = await bed.browser.context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    const problems = watchConsole(page);
    try {
      await body(page, problems);
      assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
    } catch (error) {
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `journey-${name}-failure.png`), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  }

  before(async () => {
    bed = await startPageTestbed();
    ({ api, gql } = bed);
    const create = 'mutation($dataUrl: String!, $fileName: String) { createImage(dataUrl: $dataUrl, fileName: $fileName) { id } }';
    content = (await gql(create, { dataUrl: await imageDataUrl(await makePng(32, 32, 3)), fileName: 'harbour.png' })).createImage.id;
    style = (await gql(create, { dataUrl: await imageDataUrl(await makePng(32, 32, 11)), fileName: 'brushwork.png' })).createImage.id;
    // A run before: the page offers its images as uploaded before.
    await startRun({ epochs: 1, stepsPerEpoch: 1 });
  });

  after(() => bed?.close());

  it('the empty form and its errors pass axe-core; focus rings show on every control', { timeout: RUN_TIMEOUT_MS }, async () => {
    await withPage('form', async (page) => {
      await page.goto(`${api.url}/`);
      await page.getByRole('heading', { name: 'Gallery' }).waitFor();
      await page.getByRole('group', { name: 'How to paint' }).waitFor();
      await assertAccessible(page, 'empty-form');
      await assertFocusRings(page, 25);

      // Images uploaded before are offered under the names of their files; choosing one keeps the focus on it (it used to fall to <body>).
      const pick = page.getByRole('button', { name: 'Use harbour.png (32×32) as content', exact: true });
      await pick.focus();
      await page.keyboard.press('Space');
      await page.waitForSelector('.recent-item[aria-pressed="true"]');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-pressed')), 'true', 'the pressed thumbnail keeps the focus');
      await page.keyboard.press('Space');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-pressed')), 'false');

      await page.getByRole('button', { name: 'Start run' }).click();
      await page.getByText('Choose a content image.').waitFor();
      await assertAccessible(page, 'errors');
    });
  });

  it('paints with a preset in mode FAST, shows mode and preset on the run and its card, and clones it with another preset', { timeout: 2 * RUN_TIMEOUT_MS }, async () => {
    const presets = (await gql('{ presets { name title painting { id } } }')).presets as { name: string; title: string; painting: { id: string } | null }[];
    const wave = presets.find((p) => p.name === 'wave')!;
    const udnie = presets.find((p) => p.name === 'udnie')!;
    await withPage('presets', async (page) => {
      await page.goto(`${api.url}/`);
      await page.getByRole('button', { name: 'Use harbour.png (32×32) as content', exact: true }).click();
      await page.locator('.slots').getByText('harbour.png', { exact: true }).waitFor();
      await page.getByRole('radio', { name: 'Fast', exact: true }).check();
      // The fast modes' style is the network's painting: no style images, no optimization settings.
      assert.equal(await page.getByRole('group', { name: 'Style images' }).isVisible(), false);
      assert.equal(await page.getByLabel('Epochs', { exact: true }).isVisible(), false);
      await page.getByRole('radio', { name: wave.title }).check();
      await page.getByLabel('Size (px)').fill('32');
      await page.locator('#run-estimate').getByText(/ · one pass · /).waitFor();
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.waitForFunction(() => location.hash.startsWith('#/runs/'));
      const runId = decodeURIComponent(page.url().split('#/runs/')[1]);
      await waitForStatus(page, runId, 'SUCCEEDED');

      const params = page.locator('.run-view .params');
      await params.getByText('Fast', { exact: true }).waitFor();
      await params.getByText('wave', { exact: true }).waitFor();
      assert.equal(await params.getByText('Steps per epoch', { exact: true }).count(), 0, 'a FAST run lists no optimization settings');
      assert.equal(await params.getByText('Style weight', { exact: true }).count(), 0);
      await page.locator('.run-inputs').getByText('Painting', { exact: true }).waitFor();
      await page.locator('.run-inputs').getByText('harbour.png', { exact: true }).waitFor();
      const card = page.locator(`.run-card[data-run-id="${runId}"]`);
      await card.getByText('Fast · wave · 32 px', { exact: true }).waitFor();

      // The presets' paintings are not offered as images uploaded before.
      const offered = await page.locator('.recent-item').evaluateAll((items: any[]) => items.map((item) => item.dataset.focusKey));
      assert.ok(offered.length > 0 && !offered.includes(wave.painting!.id), `paintings not offered: ${offered.join(', ')}`);

      // Its clone keeps the mode, takes another preset, and starts (it used to be refused for its style images).
      await page.getByRole('button', { name: 'Clone with changes' }).click();
      assert.equal(await page.getByRole('radio', { name: 'Fast', exact: true }).isChecked(), true);
      assert.equal(await page.getByRole('radio', { name: wave.title }).isChecked(), true);
      await page.getByRole('radio', { name: udnie.title }).check();
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.waitForFunction((first) => location.hash.startsWith('#/runs/') && !location.hash.endsWith(first), runId);
      const cloneId = decodeURIComponent(page.url().split('#/runs/')[1]);
      await waitForStatus(page, cloneId, 'SUCCEEDED');
      const { run } = await gql('query($id: ID!) { run(id: $id) { params { mode preset } styleImages { id } } }', { id: cloneId });
      assert.deepEqual(run.params, { mode: 'FAST', preset: 'udnie' });
      assert.deepEqual(run.styleImages, [{ id: udnie.painting!.id }]);
    });
  });

  it('a run waits, runs and is canceled: Cancel two Tabs from the heading, the picture so far on its card and downloadable', { timeout: 2 * RUN_TIMEOUT_MS }, async () => {
    const running = await startRun({ epochs: 200, stepsPerEpoch: 2 });
    const queued = await startRun({ epochs: 2, stepsPerEpoch: 2 });
    await withPage('cancel', async (page) => {
      await page.goto(`${api.url}/#/runs/${queued}`);
      await waitForStatus(page, queued, 'QUEUED');
      await page.getByText('Queue position').waitFor();
      await assertAccessible(page, 'queued');

      // Open the running one from the gallery: its heading has the focus, Cancel is near.
      const card = page.locator(`.run-card[data-run-id="${running}"]`);
      await card.getByRole('button', { name: 'Open', exact: true }).click();
      await page.waitForFunction(() => document.activeElement?.id === 'run-title');
      await page.waitForFunction(() => Number(document.querySelector('#preview')?.dataset.epoch) >= 1, undefined, { timeout: RUN_TIMEOUT_MS });
      // STEP events move the figures between epochs: a step inside an epoch (odd, at 2 steps an epoch) and the pace.
      const stat = (term: string) => [...document.querySelectorAll('.stats .stat')]
        .find((item: any) => item.querySelector('dt').textContent === term)?.querySelector('dd').textContent as string | undefined;
      await page.waitForFunction(() => Number([...document.querySelectorAll('.stats .stat')]
        .find((item: any) => item.querySelector('dt').textContent === 'Steps')?.querySelector('dd').textContent.split(' / ')[0]) % 2 === 1, undefined, { timeout: 30_000 });
      assert.match(await page.evaluate(stat, 'Steps per second') ?? '', /^\d+(\.\d+)?$/);
      await assertAccessible(page, 'running');
      let tabs = 0;
      while (tabs < 5 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'Cancel run') {
        await page.keyboard.press('Tab');
        tabs += 1;
      }
      assert.ok(tabs <= 2, `Cancel is ${tabs} Tabs from the run's heading`);
      await page.keyboard.press('Enter');
      await waitForStatus(page, running, 'CANCELED');
      assert.notEqual(await page.evaluate(() => document.activeElement?.tagName), 'BODY', 'the focus stays in the run view');

      // The picture so far: on the card, in the view, and as a download.
      const { run } = await gql('query($id: ID!) { run(id: $id) { contentImage { url } latestEpoch { epoch preview { url } } } }', { id: running });
      await page.waitForSelector(`.run-card[data-run-id="${running}"][data-status="CANCELED"]`);
      assert.equal(await card.locator('img').first().getAttribute('src'), run.latestEpoch.preview.url, 'the card shows the latest epoch, not the photo');
      const download = page.getByRole('link', { name: `Download epoch ${run.latestEpoch.epoch}` });
      assert.equal(await download.getAttribute('href'), run.latestEpoch.preview.url);
      await assertAccessible(page, 'canceled');

      // The preview opens at full size, smoothly scaled; Escape closes it.
      await page.locator('.preview-button').click();
      const big = page.locator('dialog.lightbox img');
      await big.waitFor();
      assert.equal(await big.getAttribute('src'), run.latestEpoch.preview.url);
      assert.equal(await big.evaluate((img: any) => getComputedStyle(img).imageRendering), 'auto');
      assert.ok((await big.boundingBox())!.width > 300, 'blown up to the window');
      await page.keyboard.press('Escape');
      await big.waitFor({ state: 'hidden' });

      // A run that is not there shows nothing of the one before.
      await page.goto(`${api.url}/#/runs/00000000-0000-4000-8000-000000000000`);
      await page.getByRole('heading', { name: 'Run not found' }).waitFor();
      assert.equal(await page.locator('.run-view progress').evaluate((p: any) => p.value), 0);
      assert.equal(await page.locator('.progress-label').innerText(), '');
      await page.goto(`${api.url}/#/runs/${queued}`);
      await waitForStatus(page, queued, 'SUCCEEDED');
      await page.getByRole('heading', { name: 'Gallery' }).scrollIntoViewIfNeeded();
      await assertAccessible(page, 'gallery');
    });
  });

  it('replays a finished run with Play and a scrubber that arrow keys move', { timeout: RUN_TIMEOUT_MS }, async () => {
    const runId = await startRun({ epochs: 3, stepsPerEpoch: 1 });
    await withPage('replay', async (page) => {
      await page.goto(`${api.url}/#/runs/${runId}`);
      await waitForStatus(page, runId, 'SUCCEEDED');
      const { run } = await gql('query($id: ID!) { run(id: $id) { resultImage { url } epochs { preview { url } } } }', { id: runId });
      const previews = run.epochs.map((e: { preview: { url: string } }) => e.preview.url);
      const shown = () => page.locator('#preview').getAttribute('src');
      await assertAccessible(page, 'done');

      const scrubber = page.getByRole('slider', { name: 'Epoch' });
      await scrubber.focus();
      await page.keyboard.press('Home');
      await page.waitForFunction((url) => document.querySelector('#preview').getAttribute('src') === url, previews[0]);
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction((url) => document.querySelector('#preview').getAttribute('src') === url, previews[1]);
      assert.equal(await scrubber.getAttribute('aria-valuetext'), 'Epoch 2 of 3');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'epoch-scrubber', 'the scrubber keeps the focus');

      // Play goes from the epoch shown through every later one, in order, and stops on the last (the result).
      await page.keyboard.press('Home');
      await page.waitForFunction((url) => document.querySelector('#preview').getAttribute('src') === url, previews[0]);
      await page.evaluate(() => {
        const preview = document.querySelector('#preview');
        const seen = [preview.getAttribute('src')];
        (globalThis as any).replayed = seen;
        new (globalThis as any).MutationObserver(() => { if (seen.at(-1) !== preview.getAttribute('src')) seen.push(preview.getAttribute('src')); })
          .observe(preview, { attributes: true, attributeFilter: ['src'] });
      });
      await page.getByRole('button', { name: 'Play' }).click();
      await page.getByRole('button', { name: 'Pause' }).waitFor();
      await page.getByRole('button', { name: 'Play' }).waitFor({ timeout: 10_000 });
      assert.deepEqual(await page.evaluate(() => (globalThis as any).replayed), previews, 'each epoch shown once, in order');
      assert.equal(await shown(), run.resultImage.url, 'the replay ends on the result');
    });
  });

  it('at phone width: no violations and tap targets of 44 px', { timeout: RUN_TIMEOUT_MS }, async () => {
    await withPage('phone', async (page) => {
      await page.goto(`${api.url}/`);
      await page.getByRole('group', { name: 'How to paint' }).waitFor();
      await page.locator('.run-card').first().waitFor();
      await assertAccessible(page, 'phone');
      await assertTapTargets(page);
    }, { width: 390, height: 844 });
  });
});
