/**
 * Accessibility checks in the page under test: axe-core (the engine behind
 * Lighthouse's and the browsers' own audits), run in the page as it stands,
 * and tap-target sizes at phone width. Each check saves a screenshot of the
 * state it judged to ARTIFACTS_DIR.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS_DIR, loadAllImages } from './browser.js';

// Evaluated through the DevTools protocol: the page's Content-Security-Policy (script-src 'self') rightly refuses an injected <script>.
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const axe: any;
declare const document: any;
declare const window: any;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core over the whole page (every rule of WCAG 2.2 A/AA and axe's best practices)
 * and fails with each violation of any impact, its elements and why; then saves `a11y-<state>.png`.
 */
export async function assertAccessible(page: Page, state: string): Promise<void> {
  if (!(await page.evaluate(() => typeof (window as any).axe === 'object'))) await page.evaluate(AXE_SOURCE);
  await loadAllImages(page);
  const violations: Violation[] = await page.evaluate(async () => {
    const results = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return results.violations.map((v: Violation) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, `a11y-${state}.png`), fullPage: true });
  assert.deepEqual(violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n')}`), [],
    `axe-core found no violation in state "${state}"`);
}

/**
 * At phone width every visible control a finger taps is at least 44 x 44 CSS px
 * (WCAG 2.5.5): buttons, links, selects, text inputs, summaries, and the
 * labels of radios, checkboxes and file inputs (their own boxes are small or hidden).
 */
export async function assertTapTargets(page: Page): Promise<void> {
  const small: string[] = await page.evaluate(() => {
    const describe = (el: any) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
    const targets = [...document.querySelectorAll('button, a[href], select, summary, input, label[for]')].filter((el: any) => {
      if (el.matches('input[type="radio"], input[type="checkbox"], input[type="file"]')) return false;
      if (el.matches('label')) return document.getElementById(el.htmlFor)?.matches('input[type="radio"], input[type="checkbox"], input[type="file"]');
      return !el.closest('.skip-link') && !el.matches('.skip-link');
    });
    return targets.filter((el: any) => {
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) return false; // not shown
      return box.width < 44 || box.height < 44;
    }).map((el: any) => { const b = el.getBoundingClientRect(); return `${describe(el)} ${Math.round(b.width)}x${Math.round(b.height)}`; });
  });
  assert.deepEqual(small, [], 'every tap target is at least 44 x 44 px at phone width');
}

/**
 * Tabs through the page from its top, `count` times, and checks each focused
 * element's ring: an outline at least 2 px wide whose color has a contrast of
 * at least 3:1 against the background behind it (WCAG 1.4.11, 2.4.13).
 */
export async function assertFocusRings(page: Page, count: number): Promise<void> {
  await page.evaluate(() => { document.activeElement?.blur?.(); window.scrollTo(0, 0); });
  await page.focus('body');
  const weak: string[] = [];
  for (let i = 0; i < count; i += 1) {
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const rgb = (color: string) => (color.match(/[\d.]+/g) ?? []).map(Number);
      const luminance = ([r, g, b]: number[]) => {
        const channel = (c: number) => { const v = c / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
      };
      // The ring is drawn outside the element (outline-offset): what is behind it is the nearest opaque ancestor's background.
      let behind = el.parentElement;
      while (behind && (rgb(window.getComputedStyle(behind).backgroundColor)[3] === 0 || window.getComputedStyle(behind).backgroundColor === 'transparent')) behind = behind.parentElement;
      const back = rgb(behind ? window.getComputedStyle(behind).backgroundColor : 'rgb(255, 255, 255)');
      const style = window.getComputedStyle(el);
      const ringColor = rgb(style.outlineColor);
      const [l1, l2] = [luminance(ringColor), luminance(back)].sort((a, b) => b - a);
      return {
        what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent ?? el.getAttribute('aria-label') ?? '').trim().slice(0, 30)}"`,
        width: parseFloat(style.outlineWidth) * (style.outlineStyle === 'none' ? 0 : 1),
        contrast: (l1 + 0.05) / (l2 + 0.05),
      };
    });
    if (ring && (ring.width < 2 || ring.contrast < 3)) weak.push(`${ring.what}: ${ring.width} px, ${ring.contrast.toFixed(2)}:1`);
  }
  assert.deepEqual(weak, [], 'every focus ring is at least 2 px and 3:1 against its background');
}
