/**
 * A real browser for page tests: Debian's chromium (apt-get install chromium)
 * driven by playwright-core, headless, kept off the network, in a fresh
 * profile that is removed afterwards. Pages only ever load from 127.0.0.1.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { REPO_ROOT } from './shared-data.js';

export const CHROMIUM_PATH = process.env.STYLEGRAPH_CHROMIUM ?? '/usr/bin/chromium';

/** Where tests leave screenshots: STYLEGRAPH_ARTIFACTS_DIR, default test-artifacts/ (git-ignored). */
export const ARTIFACTS_DIR = path.resolve(REPO_ROOT, process.env.STYLEGRAPH_ARTIFACTS_DIR ?? 'test-artifacts');

/** Why page tests cannot run here, or undefined when they can. */
/** Why the browser tests are skipped, if they are; never on CI, where .ci/run installs Chromium and a missing one must fail. */
export function browserMissing(): string | undefined {
  if (process.env.CI || existsSync(CHROMIUM_PATH)) return undefined;
  return `no chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set STYLEGRAPH_CHROMIUM)`;
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 900 }): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'stylegraph-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--no-pings',
    ],
  });
  // Nothing but the test server: any other host is refused before it leaves the machine.
  await context.route((url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.protocol !== 'data:' && url.protocol !== 'blob:',
    (route) => route.abort('blockedbyclient'));
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects a page's console errors and warnings, uncaught exceptions and failed requests. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A page that navigates away or closes its socket aborts requests on purpose.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return problems;
}

/**
 * Loads the page's lazy images and waits until every image with a source has
 * decoded: a full-page screenshot shows those below the fold too. (An image
 * without a source, such as the closed full-size view's, is left out.)
 */
export async function loadAllImages(page: Page): Promise<void> {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  await page.evaluate(() => (globalThis as any).document.querySelectorAll('img[loading="lazy"]').forEach((img: any) => { img.loading = 'eager'; }));
  await page.waitForFunction(() => [...(globalThis as any).document.images]
    .filter((img: any) => img.getAttribute('src'))
    .every((img: any) => img.complete && img.naturalWidth > 0));
}
