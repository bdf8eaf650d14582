/**
 * A run over a video on the page, in a real browser: the form takes the
 * video, the strip of painted frames fills in as FRAME events come, the
 * result plays in a video element (seeking by byte ranges), the download is
 * a WebM, and the gallery's card shows a painted frame.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { locateVideoTools } from '../../src/images/video-tools.js';
import { assertAccessible } from '../helpers/axe.js';
import { ARTIFACTS_DIR, browserMissing, watchConsole } from '../helpers/browser.js';
import { makePng, makeVideo } from '../helpers/images.js';
import { startPageTestbed, type PageTestbed } from '../helpers/page-testbed.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

const FRAMES = 4;

describe('a run over a video on the page', { skip: browserMissing() ?? (locateVideoTools() ? false : 'no ffmpeg here') }, () => {
  let bed: PageTestbed;
  before(async () => {
    bed = await startPageTestbed();
  });
  after(() => bed?.close());

  it('takes the video as the content, fills in the frame strip, then plays the painted WebM', async () => {
    const video = await makeVideo('webm', 32, 32, FRAMES, 8, { seed: 6 });
    const page = await bed.browser.context.newPage();
    const problems = watchConsole(page);
    try {
      await page.goto(`${bed.api.url}/`);
      // The form offers videos once the server says it takes them.
      await page.waitForFunction(() => document.querySelector('input[name=contentFile]').accept.includes('video/webm'));
      await page.getByLabel('Upload content image').setInputFiles({ name: 'square.webm', mimeType: 'video/webm', buffer: video });
      await page.waitForSelector('.slot video');
      assert.equal(await page.locator('#content-error').textContent(), '');

      // The same bytes are the same image: the run is started through the API, slow enough to watch the frames come.
      const { createImage } = await bed.gql('mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: `data:video/webm;base64,${video.toString('base64')}` });
      const { createImage: style } = await bed.gql('mutation($d: String!) { createImage(dataUrl: $d) { id } }', { d: `data:image/png;base64,${(await makePng(32, 32, 2)).toString('base64')}` });
      const { startRun } = await bed.gql('mutation($input: StartRunInput!) { startRun(input: $input) { id } }', {
        input: { contentImageId: createImage.id, styleImageIds: [style.id], maxDim: 32, epochs: 2, stepsPerEpoch: 6 },
      });
      await page.goto(`${bed.api.url}/#/runs/${startRun.id}`);
      const strip = () => page.evaluate(() => ({
        painted: document.querySelectorAll('.frame-strip .frame-thumb img').length,
        pending: document.querySelectorAll('.frame-strip .frame-pending').length,
        count: document.querySelector('.frame-count')?.textContent,
      }));
      // Part painted, part waiting: the strip fills in as the run goes.
      await page.waitForFunction(() => document.querySelectorAll('.frame-strip .frame-thumb img').length >= 1
        && document.querySelectorAll('.frame-strip .frame-pending').length >= 1, undefined, { timeout: 120_000 });
      const midway = await strip();
      assert.equal(midway.painted + midway.pending, FRAMES);
      assert.equal(midway.count, `${midway.painted} of ${FRAMES} frames painted`);
      await assertAccessible(page, 'video-running');

      await page.waitForSelector(`.run-view[data-run-id="${startRun.id}"][data-status="SUCCEEDED"]`, { timeout: 120_000 });
      assert.deepEqual(await strip(), { painted: FRAMES, pending: 0, count: `${FRAMES} of ${FRAMES} frames painted` });
      // Coherence's term has its own curve, from the second frame on; the chart's summary reads it out.
      await page.locator('.chart .u-legend').getByText('Temporal').waitFor();
      assert.match(await page.locator('.chart .visually-hidden').textContent() ?? '', /^After epoch 8: Total .*, TV .*, Temporal \d/);
      // The result plays, muted and looping, in place of the preview image.
      await page.waitForFunction(() => {
        const player = document.querySelector('.preview-video');
        return player && !player.hidden && player.readyState >= 2 && player.currentTime > 0;
      }, undefined, { timeout: 30_000 });
      const played = await page.evaluate(() => {
        const player = document.querySelector('.preview-video');
        return { width: player.videoWidth, height: player.videoHeight, duration: player.duration, muted: player.muted, loop: player.loop, image: document.querySelector('.preview-button').hidden };
      });
      assert.deepEqual({ ...played, duration: Math.round(played.duration * 1000) }, { width: 32, height: 32, duration: FRAMES * 125, muted: true, loop: true, image: true });
      assert.match(await page.locator('.preview-caption').textContent() ?? '', /^Result · 32×32 · 4 frames$/);
      assert.match(await page.getByRole('link', { name: 'Download' }).getAttribute('download') ?? '', /^stylegraph-[0-9a-f]{8}\.webm$/);
      await assertAccessible(page, 'video-done');

      // The gallery's card shows a painted frame: a card's picture is an image.
      await page.goto(`${bed.api.url}/`);
      const card = page.locator(`.run-card[data-run-id="${startRun.id}"] .run-card-image img`);
      await card.waitFor();
      assert.match(await card.getAttribute('src') ?? '', /\/images\/[0-9a-f]{64}$/);
      assert.deepEqual(problems, [], 'no console errors, warnings or failed requests');
    } catch (error) {
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'video-run-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  });
});
