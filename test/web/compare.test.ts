/**
 * Comparing runs in a real browser: two runs picked in the gallery by
 * keyboard, side by side with the parameter that differs marked and a
 * before/after slider; a sweep of one parameter that starts its clones and
 * shows them as a grid beside their run. Runs are started through the API (the
 * form has its own test). Screenshots go to STYLEGRAPH_ARTIFACTS_DIR.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { uploadImage } from '../graphql/harness.js';
import { assertAccessible, assertTapTargets } from '../helpers/axe.js';
import { ARTIFACTS_DIR, browserMissing, loadAllImages, watchConsole } from '../helpers/browser.js';
import { makePng } from '../helpers/images.js';
import { startPageTestbed, type PageTestbed } from '../helpers/page-testbed.js';

const RUN_TIMEOUT_MS = 120_000;

// The callbacks given to page.evaluate/waitForFunction run in the browser; this
// Node-side file compiles without the DOM library, so name its globals here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const location: any;
declare const getComputedStyle: any;

interface ApiRun {
  id: string;
  status: string;
  params: { styleWeight: number; seed: number; maxDim: number; epochs: number; stepsPerEpoch: number };
  contentImage: { id: string };
  styleImages: { id: string }[];
  resultImage: { url: string } | null;
}

const RUN_FIELDS = 'id status params { styleWeight seed maxDim epochs stepsPerEpoch } contentImage { id } styleImages { id } resultImage { url }';

describe('comparing runs', { skip: browserMissing() }, () => {
  let bed: PageTestbed;
  let api: PageTestbed['api'];
  let browser: PageTestbed['browser'];
  let graphql: PageTestbed['gql'];
  let first: ApiRun;
  let second: ApiRun;

  async function upload(seed: number): Promise<string> {
    const { data } = await uploadImage<{ id: string }>(`${api.url}/graphql`, { bytes: await makePng(32, 32, seed), type: 'image/png', fileName: `image-${seed}.png` }, 'id');
    return data!.uploadImage.id;
  }

  async function listRuns(): Promise<ApiRun[]> {
    const data = await graphql<{ runs: { edges: { node: ApiRun }[] } }>(`{ runs(first: 50) { edges { node { ${RUN_FIELDS} } } } }`);
    return data.runs.edges.map((edge) => edge.node);
  }

  /** Waits for the run to finish through the API; it must succeed. */
  async function finished(runId: string): Promise<ApiRun> {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    for (;;) {
      const { run } = await graphql<{ run: ApiRun }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: runId });
      if (['SUCCEEDED', 'FAILED', 'CANCELED'].includes(run.status)) {
        assert.equal(run.status, 'SUCCEEDED');
        return run;
      }
      assert.ok(Date.now() < deadline, `run ${runId} did not finish in time`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  before(async () => {
    bed = await startPageTestbed();
    ({ api, browser, gql: graphql } = bed);
    const contentImageId = await upload(3);
    const styleImageIds = [await upload(11)];
    // Two tiny runs that differ in their style weight only.
    const start = async (styleWeight: number) => (await graphql<{ startRun: ApiRun }>(
      `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`,
      { input: { contentImageId, styleImageIds, maxDim: 32, epochs: 2, stepsPerEpoch: 2, seed: 7, styleWeight } })).startRun;
    const runs = [await start(0.01), await start(1)];
    [first, second] = [await finished(runs[0].id), await finished(runs[1].id)];
  });

  after(() => bed?.close());

  it('picks two runs by keyboard, shows them side by side with the differing parameter marked, and slides between them', { timeout: 2 * RUN_TIMEOUT_MS }, async () => {
    const page = await browser.context.newPage();
    const problems = watchConsole(page);
    try {
      await page.goto(`${api.url}/`);
      await page.waitForSelector('.run-card[data-status="SUCCEEDED"] img.result');
      for (const run of [first, second]) {
        const checkbox = page.getByRole('checkbox', { name: `Compare run ${run.id.slice(0, 8)}` });
        await checkbox.focus();
        await page.keyboard.press('Space');
        assert.equal(await checkbox.isChecked(), true);
      }
      const bar = page.getByRole('region', { name: 'Runs to compare' });
      await bar.getByText('2 selected').waitFor();
      await bar.getByRole('button', { name: 'Compare' }).focus();
      await page.keyboard.press('Enter');

      await page.waitForFunction((hash) => location.hash === hash, `#/compare/${first.id},${second.id}`);
      await page.waitForFunction(() => document.activeElement?.id === 'compare-title');
      await page.getByRole('heading', { name: 'Comparing 2 runs' }).waitFor();
      for (const run of [first, second]) {
        await page.waitForFunction(({ id, url }) => document.querySelector(`.compare-cell[data-run-id="${id}"] img`)?.getAttribute('src') === url, { id: run.id, url: run.resultImage!.url });
      }
      // The style weight is the one parameter that differs, and it is marked.
      const differing = await page.locator('tr.compare-differs th').allInnerTexts();
      assert.deepEqual(differing.map((text) => text.split('\n')[0].trim()), ['Style weight']);
      assert.equal(await page.locator('tr.compare-differs mark').count(), 2);
      // Final losses of both: numbers, not dashes.
      const losses = await page.locator('tr.compare-loss td').allInnerTexts();
      assert.equal(losses.length, 6);
      assert.ok(losses.every((text) => /\d/.test(text)), `losses shown: ${JSON.stringify(losses)}`);

      // The slider: arrow keys move the handle and the clip of the top image.
      const slider = page.getByRole('slider', { name: /Handle: run .* left of it/ });
      const clip = () => page.evaluate(() => getComputedStyle(document.querySelector('.split-top')).clipPath as string);
      const split = () => page.evaluate(() => getComputedStyle(document.querySelector('.split-frame')).getPropertyValue('--split').trim() as string);
      const clipAtHalf = await clip();
      assert.equal(await split(), '50%');
      await slider.focus();
      for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
      assert.equal(await slider.inputValue(), '55');
      assert.equal(await split(), '55%');
      assert.notEqual(await clip(), clipAtHalf);
      for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
      assert.equal(await slider.inputValue(), '45');
      assert.equal(await split(), '45%');
      assert.match(await slider.getAttribute('aria-valuetext') ?? '', /^45% run .*, 55% run /);
      await loadAllImages(page);
      await page.locator('.compare').screenshot({ path: path.join(ARTIFACTS_DIR, 'compare-desktop.png') });
      await assertAccessible(page, 'compare');

      // The comparison is linkable: a reload shows it again.
      await page.reload();
      await page.getByRole('heading', { name: 'Comparing 2 runs' }).waitFor();
      await page.waitForSelector(`.compare-cell[data-run-id="${second.id}"][data-status="SUCCEEDED"]`);
      assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
    } finally {
      await page.close();
    }

    // At phone width: nothing wider than the screen (the grid scrolls in its own region), tap targets of 44 px.
    const phone = await browser.context.newPage();
    const phoneProblems = watchConsole(phone);
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${api.url}/#/compare/${first.id},${second.id}`);
      await phone.waitForSelector(`.compare-cell[data-run-id="${first.id}"][data-status="SUCCEEDED"]`);
      await loadAllImages(phone);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow} px too wide)`);
      await assertTapTargets(phone);
      await assertAccessible(phone, 'compare-phone');
      await phone.screenshot({ path: path.join(ARTIFACTS_DIR, 'compare-phone.png'), fullPage: true });
      assert.deepEqual(phoneProblems, []);
    } finally {
      await phone.close();
    }
  });

  it('refuses bad sweep values at the field, then sweeps the style weight over 3 values and shows the grid of clones', { timeout: 4 * RUN_TIMEOUT_MS }, async () => {
    const page = await browser.context.newPage();
    const problems = watchConsole(page);
    try {
      await page.goto(`${api.url}/`);
      await page.getByRole('button', { name: `Sweep a parameter of run ${first.id.slice(0, 8)}` }).click();
      await page.waitForFunction(() => document.activeElement?.id === 'compare-title');
      await page.getByRole('heading', { name: `Sweep run ${first.id.slice(0, 8)}` }).waitFor();
      const values = page.getByLabel('Values', { exact: true });
      const valuesError = page.locator('.sweep-values .field-error');
      await page.getByLabel('Parameter', { exact: true }).selectOption('styleWeight');

      // Refused in the page: not a number.
      await values.fill('0.1, abc');
      await page.getByRole('button', { name: 'Start sweep' }).click();
      await valuesError.getByText('“abc” is not a number.').waitFor();
      assert.equal(await values.getAttribute('aria-invalid'), 'true');
      // Refused by the server (its error names the field): shown at the values too.
      await page.getByLabel('Parameter', { exact: true }).selectOption('maxDim');
      await values.fill('32, 4000');
      await page.getByRole('button', { name: 'Start sweep' }).click();
      await valuesError.getByText(/^maxDim = 4000: maxDim: .*2048/).waitFor();
      assert.equal((await listRuns()).length, 2, 'nothing was started');

      await page.getByLabel('Parameter', { exact: true }).selectOption('styleWeight');
      await values.fill('0.001, 0.1, 10');
      assert.equal(await values.getAttribute('aria-invalid'), null, 'typing clears the error');
      await page.getByRole('button', { name: 'Start sweep' }).click();
      await page.waitForFunction(() => /^#\/sweep\/styleWeight\/[^,]+(,[^,]+){3}$/.test(location.hash));
      const ids = (await page.evaluate(() => location.hash as string)).split('/')[3].split(',');
      assert.equal(ids[0], first.id, 'the swept run is the reference, first');
      await page.waitForFunction(() => document.activeElement?.id === 'compare-title');

      // Three clones of the first run, each with its style weight and everything else of the first run.
      const clones = (await listRuns()).filter((run) => ids.slice(1).includes(run.id));
      assert.equal(clones.length, 3);
      assert.deepEqual(clones.map((run) => run.params.styleWeight).sort((a, b) => a - b), [0.001, 0.1, 10]);
      for (const clone of clones) {
        assert.deepEqual({ ...clone.params, styleWeight: first.params.styleWeight }, first.params);
        assert.equal(clone.contentImage.id, first.contentImage.id);
        assert.deepEqual(clone.styleImages, first.styleImages);
      }

      // The grid: the reference and one cell per value, repainting live until done, with final losses.
      await page.getByRole('heading', { name: 'Sweep of styleWeight' }).waitFor();
      assert.equal(await page.locator('.compare-cell').count(), 4);
      const headers = await page.locator('th.compare-head .compare-value').allInnerTexts();
      assert.deepEqual(headers, ['Reference · styleWeight = 0.01', 'styleWeight = 0.001', 'styleWeight = 0.1', 'styleWeight = 10']);
      await page.waitForFunction(() => document.querySelectorAll('.compare-cell[data-status="SUCCEEDED"]').length === 4, undefined, { timeout: 3 * RUN_TIMEOUT_MS });
      for (const id of ids.slice(1)) {
        const { resultImage } = await finished(id);
        await page.waitForFunction(({ id, url }) => document.querySelector(`.compare-cell[data-run-id="${id}"] img`)?.getAttribute('src') === url, { id, url: resultImage!.url });
      }
      const losses = await page.locator('tr.compare-loss td').allInnerTexts();
      assert.equal(losses.length, 12);
      assert.ok(losses.every((text) => /\d/.test(text)), `final losses shown: ${JSON.stringify(losses)}`);
      assert.deepEqual(await page.locator('tr.compare-differs th').evaluateAll((cells: any[]) => cells.map((cell) => cell.firstChild.textContent)), ['Style weight']);
      await loadAllImages(page);
      await page.locator('.compare').screenshot({ path: path.join(ARTIFACTS_DIR, 'sweep-grid.png') });
      await assertAccessible(page, 'sweep-grid');
      assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
    } finally {
      await page.close();
    }
  });
});
